"""Sender account routes: register a mailbox or number with its limits, list them."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.errors import Problem
from api.schemas import SenderAccountIn, SenderAccountOut, SenderAccountPage
from commands.sender_accounts import register_sender_account, sender_accounts

router = APIRouter(prefix="/v1/sender-accounts", tags=["sender accounts"])

AVAILABLE_PROVIDERS = {"sandbox"}


@router.post("", status_code=201, response_model=SenderAccountOut)
def create(body: SenderAccountIn, brand: BrandDep, services: ServicesDep):
    if body.provider not in AVAILABLE_PROVIDERS:
        raise Problem(
            422,
            "Provider not available",
            f"provider {body.provider} is not available in this version; use sandbox",
        )
    return register_sender_account(
        services.db,
        brand,
        body.channel,
        body.provider,
        body.address,
        body.daily_limit,
        body.warmup.model_dump(),
        services.clock.now(),
    )


@router.get("", response_model=SenderAccountPage)
def list_accounts(brand: BrandDep, services: ServicesDep):
    return {"items": sender_accounts(services.db, brand), "next_cursor": None}
