"""What routes depend on: the services the composition root hands the app, and the caller's brand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request

from api.errors import Problem
from commands.application import CampaignApplication
from commands.brands import brand_for_key
from commands.clock import Clock, DevClock
from storage.database import Database


@dataclass
class Services:
    app: CampaignApplication
    db: Database
    clock: Clock
    read_outbox: Callable[[UUID | None], list[dict[str, Any]]] | None = None
    dev_clock: DevClock | None = None
    ready: Callable[[], dict[str, bool]] = lambda: {}
    gauges: Callable[[], dict[str, float]] = lambda: {}
    projections: tuple[str, ...] = ("campaign_summaries",)


def services(request: Request) -> Services:
    return request.app.state.services


def brand(request: Request, authorization: Annotated[str | None, Header()] = None) -> UUID:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Problem(401, "Unauthorized", "send Authorization: Bearer <api_key>")
    found = brand_for_key(services(request).db, authorization[7:].strip())
    if found is None:
        raise Problem(401, "Unauthorized", "the API key is not valid")
    return found


ServicesDep = Annotated[Services, Depends(services)]
BrandDep = Annotated[UUID, Depends(brand)]
