"""Credit routes: the brand's plan, balance, next renewal and what its campaigns still hold, and its
ledger."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import BrandDep, Cursor, Limit, ServicesDep
from api.schemas import CreditsOut, LedgerPage
from commands.credits.brand_accounts import brand_account
from projections.credit_ledger_entries import entries

router = APIRouter(prefix="/v1/credits", tags=["credits"])


@router.get("", response_model=CreditsOut)
def credits(brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    account = brand_account(services.store, services.db, brand, services.clock.now())
    return {key: account[key] for key in ("plan", "balance", "reserved_outstanding", "renews_at")}


@router.get("/ledger", response_model=LedgerPage)
def ledger(
    brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The brand's ledger entries in the order they happened, each with the balance after it."""
    rows, next_cursor = entries(services.store, services.db, brand, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}
