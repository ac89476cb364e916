"""Credit routes: the brand's plan, balance and what its campaigns still hold."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.schemas import CreditsOut

router = APIRouter(prefix="/v1/credits", tags=["credits"])


@router.get("", response_model=CreditsOut)
def credits(brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    ledger = services.app.ledger(brand)
    return {
        "plan": ledger.plan.value,
        "balance": ledger.balance,
        "reserved_outstanding": ledger.reserved_outstanding,
    }
