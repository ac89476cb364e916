"""The brand's settings for texts and calls: the local hours they may go out in (quiet hours
outside them) and the answer a contact gets to HELP. Unset, a brand texts and calls from 08:00
to 21:00 in each contact's time zone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.schemas import MessagingSettingsIn, MessagingSettingsOut
from commands.sending.messaging_settings import (
    MessagingSettings,
    change_messaging_settings,
    messaging_settings,
)

router = APIRouter(prefix="/v1/messaging-settings", tags=["messaging settings"])


def _answer(settings: MessagingSettings) -> dict[str, Any]:
    hours = settings.quiet_hours
    return {
        "allowed_from": hours.allowed_from,
        "allowed_until": hours.allowed_until,
        "help_text": settings.help_text,
    }


@router.get("", response_model=MessagingSettingsOut)
def read_messaging_settings(brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return _answer(messaging_settings(services.db, brand))


@router.put("", response_model=MessagingSettingsOut)
def change_settings(body: MessagingSettingsIn, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    changed = change_messaging_settings(
        services.store,
        services.db,
        brand,
        body.allowed_from,
        body.allowed_until,
        body.help_text,
        services.clock.now(),
    )
    return _answer(changed)
