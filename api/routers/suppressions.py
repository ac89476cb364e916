"""Suppression list routes: the brand's addresses that are never contacted; add, list, remove.

Addresses are normalised the way contacts are (lowercased emails, E.164 phones), so
`+1 (415) 555-0100` and `+14155550100` are one entry. Adding an address twice answers the first
entry (201 the first time, 200 after).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response

from api.deps import BrandDep, Cursor, IdempotencyKey, Limit, ServicesDep, answer_once
from api.schemas import SuppressionIn, SuppressionOut, SuppressionPage
from api.text import Address
from commands.audience.suppressions import suppress, suppressions, unsuppress

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])


@router.get("", response_model=SuppressionPage)
def list_suppressions(
    brand: BrandDep,
    services: ServicesDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    channel: Literal["email", "phone"] | None = None,
) -> dict[str, Any]:
    rows, next_cursor = suppressions(services.db, brand, limit, cursor, channel)
    return {"items": rows, "next_cursor": next_cursor}


@router.post(
    "",
    status_code=201,
    response_model=SuppressionOut,
    responses={200: {"model": SuppressionOut, "description": "the address was already suppressed"}},
)
def add_suppression(
    body: SuppressionIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> tuple[int, SuppressionOut]:
        suppressed = suppress(
            services.store,
            services.db,
            brand,
            body.address,
            body.reason,
            services.clock.now(),
            services.default_phone_region,
        )
        return 201 if suppressed.created else 200, SuppressionOut.model_validate(suppressed.entry)

    return answer_once(services, brand, idempotency_key, "POST /v1/suppressions", run, body)


@router.delete(
    "/{address:path}", status_code=204, responses={404: {"description": "the address is not suppressed"}}
)
def remove_suppression(
    address: Annotated[Address, Path()], brand: BrandDep, services: ServicesDep
) -> Response:
    unsuppress(
        services.store,
        services.db,
        brand,
        address,
        "taken off the list by the brand",
        services.clock.now(),
        services.default_phone_region,
    )
    return Response(status_code=204)
