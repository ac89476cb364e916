"""Sender account routes: register a mailbox or number with its limits and credentials, list them,
hand in fresh credentials, resume one the deliverability guard paused.

Credentials are write-only: the request model hides them from its repr and dumps, and no answer
schema has a field for them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import BrandDep, Cursor, IdempotencyKey, Limit, Services, ServicesDep, answer_once
from api.schemas import SenderAccountIn, SenderAccountOut, SenderAccountPage, SenderCredentialsIn
from commands.deliverability.guard import resume_mailbox
from commands.sending.sender_accounts import (
    register_sender_account,
    sender_accounts,
)
from commands.sending.sender_health import reconnect_sender_account
from projections.deliverability_windows import latest_position

router = APIRouter(prefix="/v1/sender-accounts", tags=["sender accounts"])
NOT_PAUSED: dict[int | str, Any] = {
    409: {"description": "the account is not paused by the deliverability guard"}
}


@router.post(
    "",
    status_code=201,
    response_model=SenderAccountOut,
    responses={
        409: {"description": "the brand has this channel and address already"},
        503: {"description": "credentials cannot be stored: no CREDENTIALS_KEY is configured"},
    },
)
def create(
    body: SenderAccountIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def register() -> tuple[int, SenderAccountOut]:
        return _register(body, brand, services)

    # credentials are left out of the body's dump (write-only), yet make a request another one
    request = {**body.model_dump(mode="json"), "credentials": body.credentials}
    return answer_once(services, brand, idempotency_key, "POST /v1/sender-accounts", register, request)


def _register(body: SenderAccountIn, brand: UUID, services: Services) -> tuple[int, SenderAccountOut]:
    account = register_sender_account(
        services.db,
        brand,
        body.channel,
        body.provider,
        body.address,
        body.daily_limit,
        body.warmup.model_dump(),
        services.clock.now(),
        credentials=body.credentials,
        cipher=services.credential_cipher,
    )
    return 201, SenderAccountOut.model_validate(account)


@router.get("", response_model=SenderAccountPage)
def list_accounts(
    brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    rows, next_cursor = sender_accounts(services.db, brand, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.put(
    "/{account_id}/credentials",
    response_model=SenderAccountOut,
    responses={503: {"description": "credentials cannot be stored: no CREDENTIALS_KEY is configured"}},
)
def reconnect(
    account_id: UUID, body: SenderCredentialsIn, brand: BrandDep, services: ServicesDep
) -> SenderAccountOut:
    """Fresh credentials for a mailbox or number (from `gmail authorize` after a revoked grant): an
    account in `reconnect_required` is back in rotation at once."""
    account = reconnect_sender_account(
        services.db, services.credential_cipher, brand, account_id, body.credentials
    )
    return SenderAccountOut.model_validate(account)


@router.post("/{account_id}/resume", response_model=SenderAccountOut, responses=NOT_PAUSED)
def resume(account_id: UUID, brand: BrandDep, services: ServicesDep) -> SenderAccountOut:
    """Put a mailbox the deliverability guard paused (`paused_deliverability`) back in rotation;
    its bounce window starts afresh. 409 unless it was paused so."""
    account = resume_mailbox(services.db, brand, account_id, latest_position(services.db))
    return SenderAccountOut.model_validate(account)
