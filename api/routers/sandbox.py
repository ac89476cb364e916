"""Embedded and development routes: the sandbox outbox, and the dev clock under --dev-clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.errors import Problem
from api.schemas import ClockAdvance, ClockOut, OutboxPage
from domain.errors import NotFound
from projections.campaign_summaries import summary

router = APIRouter(tags=["development"])
clock_router = APIRouter(prefix="/v1/dev/clock", tags=["development"])


@router.get(
    "/v1/sandbox/outbox",
    response_model=OutboxPage,
    response_model_by_alias=True,
    responses={404: {"description": "no such campaign"}},
)
def sandbox_outbox(brand: BrandDep, services: ServicesDep, campaign_id: UUID | None = None) -> dict[str, Any]:
    if services.read_outbox is None:
        raise Problem(404, "Not found", "the sandbox provider is not in use")
    if campaign_id is not None and summary(services.db, brand, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id}")  # another brand's campaign does not exist
    rows = services.read_outbox(brand, campaign_id)
    return {"items": [{**row, "sender": row["from"]} for row in rows]}


@clock_router.get("", response_model=ClockOut)
def read_clock(services: ServicesDep) -> dict[str, datetime]:
    return {"now": services.clock.now()}


@clock_router.post("/advance", response_model=ClockOut)
def advance_clock(body: ClockAdvance, services: ServicesDep) -> dict[str, datetime]:
    clock = services.dev_clock
    if clock is None:  # the router is mounted only with the development clock
        raise RuntimeError("the development clock is not in use")
    return {"now": clock.advance(body.seconds)}
