"""The brand's deliverability settings: the hard-bounce and opt-out rates its campaigns and mailboxes
may reach over their last sends before the deliverability guard pauses them (decision record
0024). Unset, 5% hard bounces and 2% opt-outs, judged from 50 sends over the last 500."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.schemas import DeliverabilitySettingsIn, DeliverabilitySettingsOut
from commands.deliverability.settings import change_deliverability_settings, deliverability_settings
from domain.deliverability import DeliverabilitySettings

router = APIRouter(prefix="/v1/deliverability-settings", tags=["deliverability settings"])


@router.get("", response_model=DeliverabilitySettingsOut)
def read_deliverability_settings(brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return asdict(deliverability_settings(services.db, brand))


@router.put("", response_model=DeliverabilitySettingsOut)
def change_settings(body: DeliverabilitySettingsIn, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    """Limits out of range (window_sends under min_sends too) are a 422 and change nothing."""
    settings = DeliverabilitySettings(**body.model_dump())
    return asdict(change_deliverability_settings(services.db, brand, settings, services.clock.now()))
