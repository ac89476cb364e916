"""The operators' API (/admin/v1), for a billing system: brands, purchases, plans and standing.

Mounted only when ADMIN_API_KEY is set, behind api/admin_gate.py (Bearer <ADMIN_API_KEY>). A
purchase is idempotent on its reference (201 the first time, 200 with the first grant after); a
plan change, a suspension and a reinstatement are events naming who did it: `admin api`, with the
`X-Operator` header's name when one is sent.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from api.admin_schemas import (
    BrandIn,
    BrandOut,
    BrandPage,
    ErasureIn,
    ErasureOut,
    GrantIn,
    GrantOut,
    NewBrandOut,
    OperatorName,
    PlanIn,
    SuspensionIn,
)
from api.deps import Cursor, Limit, ServicesDep
from commands.credits.brand_accounts import brand_account, brand_accounts
from commands.credits.brand_standing import change_plan, reinstate_brand, suspend_brand
from commands.credits.brands import create_brand
from commands.credits.grant_credits import grant_credits
from commands.personal_data.erase_person import erase_person
from domain.credit_ledger import Plan

router = APIRouter(prefix="/admin/v1/brands", tags=["admin"])

Operator = Annotated[
    OperatorName | None,
    Header(alias="X-Operator", description="who acts, recorded in the events (default: admin api)"),
]


def _who(operator: str | None) -> str:
    return f"admin api: {operator}" if operator else "admin api"


@router.get("", response_model=BrandPage)
def list_brands(services: ServicesDep, limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """Every brand with its plan, balance, standing, next renewal and key count, oldest first."""
    items, next_cursor = brand_accounts(services.store, services.db, services.clock.now(), limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("", status_code=201, response_model=NewBrandOut)
def new_brand(body: BrandIn, services: ServicesDep) -> dict[str, Any]:
    """A brand with its plan's credits; the answer carries its first API key, shown this once only."""
    now = services.clock.now()
    made = create_brand(services.store, services.db, body.name, Plan(body.plan), now)
    account = brand_account(services.store, services.db, made.brand_id, now)
    return {**account, "brand_id": made.brand_id, "api_key": made.api_key}


@router.get("/{brand_id}", response_model=BrandOut)
def show_brand(brand_id: UUID, services: ServicesDep) -> dict[str, Any]:
    return brand_account(services.store, services.db, brand_id, services.clock.now())


@router.post(
    "/{brand_id}/credits",
    status_code=201,
    response_model=GrantOut,
    responses={200: {"model": GrantOut, "description": "the reference was granted before: its first grant"}},
)
def grant(brand_id: UUID, body: GrantIn, services: ServicesDep) -> JSONResponse:
    """Purchased credits, once per reference (an invoice or payment id) however often it is sent."""
    granted = grant_credits(
        services.store, brand_id, body.amount, body.reference, body.reason, services.clock.now()
    )
    answer = GrantOut.model_validate(granted, from_attributes=True)
    return JSONResponse(answer.model_dump(mode="json"), status_code=201 if granted.created else 200)


@router.put("/{brand_id}/plan", response_model=BrandOut)
def plan(brand_id: UUID, body: PlanIn, services: ServicesDep, operator: Operator = None) -> dict[str, Any]:
    """Change the plan: its credits are granted from the next renewal on."""
    now = services.clock.now()
    change_plan(services.store, services.db, brand_id, Plan(body.plan), _who(operator), now)
    return brand_account(services.store, services.db, brand_id, now)


@router.post("/{brand_id}/suspend", response_model=BrandOut)
def suspend(
    brand_id: UUID, body: SuspensionIn, services: ServicesDep, operator: Operator = None
) -> dict[str, Any]:
    """Its /v1 calls answer 403 and nothing of it is sent; what people tell us is still recorded."""
    now = services.clock.now()
    suspend_brand(services.store, services.db, brand_id, body.reason, _who(operator), now)
    return brand_account(services.store, services.db, brand_id, now)


@router.post("/{brand_id}/reinstate", response_model=BrandOut)
def reinstate(brand_id: UUID, services: ServicesDep, operator: Operator = None) -> dict[str, Any]:
    """Its campaigns go on where they stood: the steps that waited are dispatched again."""
    now = services.clock.now()
    reinstate_brand(services.store, services.db, brand_id, _who(operator), now)
    return brand_account(services.store, services.db, brand_id, now)


@router.post("/{brand_id}/erasures", response_model=ErasureOut)
def erase(
    brand_id: UUID, body: ErasureIn, services: ServicesDep, operator: Operator = None
) -> dict[str, Any]:
    """Erase a person found by one of their addresses: their personal data become unreadable in
    every event and table, the history still verifies, and they stay suppressed. Idempotent."""
    erased = erase_person(
        services.store, services.db, brand_id, body.address, _who(operator), services.clock.now()
    )
    return {"contact_ids": erased.contact_ids, "addresses": erased.addresses, "first_time": erased.first_time}
