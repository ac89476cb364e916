"""API key routes: a brand issues, lists and revokes its own keys.

A new key is in the 201 answer only (its digest is what is stored); a list shows names and
prefixes, never a secret. Revoking takes effect on every API process within a second; revoking
another brand's key is a 404 and the brand's last key a 409. Creating takes no Idempotency-Key:
answering a repeat would mean keeping the key to show it again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import BrandDep, CallerKeyDep, Cursor, Limit, ServicesDep
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyPage
from commands.access.api_keys import api_keys, issue_api_key, revoke_api_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _by(key_id: UUID) -> str:
    return f"api key {key_id}"


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_api_key(
    body: ApiKeyIn, brand: BrandDep, caller: CallerKeyDep, services: ServicesDep
) -> ApiKeyCreated:
    key = issue_api_key(services.app, services.db, brand, body.name, _by(caller), services.clock.now())
    return ApiKeyCreated(
        id=key.id, name=key.name, prefix=key.prefix, api_key=key.api_key, created_at=key.created_at
    )


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
    revoke_api_key(services.app, services.db, brand, key_id, _by(caller), services.clock.now())
    services.admission.known.forget_key(key_id)  # at once here; other processes within a second
    return Response(status_code=204)
