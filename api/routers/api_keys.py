"""API key routes: a brand issues, lists and revokes its own keys.

A new key is in the 201 answer only (its digest is what is stored); a list shows names and
prefixes, never a secret. Revoking takes effect on every API process within a second; revoking
another brand's key is a 404 and the brand's last key a 409. A create repeated with the same
Idempotency-Key answers the first key's id, name and prefix, with `api_key` null: the key itself
is never kept, so it cannot be shown again (revoke it and create another if it was lost).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import BrandDep, CallerKeyDep, Cursor, IdempotencyKey, Limit, ServicesDep
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyPage
from commands.access.api_keys import api_keys, issue_api_key, revoke_api_key
from commands.idempotency import once

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _by(key_id: UUID) -> str:
    return f"api key {key_id}"


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_api_key(
    body: ApiKeyIn,
    brand: BrandDep,
    caller: CallerKeyDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    shown: dict[str, str] = {}  # the secret, never part of the answer an Idempotency-Key keeps

    def run() -> tuple[int, Any]:
        key = issue_api_key(services.store, services.db, brand, body.name, _by(caller), services.clock.now())
        shown["api_key"] = key.api_key
        kept = ApiKeyCreated(
            id=key.id, name=key.name, prefix=key.prefix, api_key=None, created_at=key.created_at
        )
        return 201, kept.model_dump(mode="json")

    request = body.model_dump(mode="json")
    status, answer = once(services.db, brand, idempotency_key, "POST /v1/api-keys", run, request)
    return JSONResponse({**answer, "api_key": shown.get("api_key")}, status_code=status)


@router.get("", response_model=ApiKeyPage)
def list_api_keys(
    brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    rows, next_cursor = api_keys(services.db, brand, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.delete(
    "/{key_id}",
    status_code=204,
    responses={409: {"description": "the brand's last key: create another before revoking it"}},
)
def revoke(key_id: UUID, brand: BrandDep, caller: CallerKeyDep, services: ServicesDep) -> Response:
    revoke_api_key(services.store, services.db, brand, key_id, _by(caller), services.clock.now())
    services.admission.known.forget_key(key_id)  # at once here; other processes within a second
    return Response(status_code=204)
