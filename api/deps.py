"""What routes depend on: the services the composition root hands the app, and the caller's brand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.gate import Admission
from api.text import CursorText, SafeText
from commands.application import CampaignApplication
from commands.audience.unsubscribe_tokens import UnsubscribeTokens
from commands.clock import Clock, DevClock
from commands.idempotency import once
from commands.sending.credentials import CredentialCipher
from commands.tracking.tracking_tokens import TrackingTokens
from storage import log_context
from storage.database import Database


@dataclass
class Services:
    store: CampaignApplication
    db: Database
    clock: Clock
    admission: Admission  # the request gate's keys, uses, buckets and caps (api/gate.py), one per process
    read_outbox: Callable[[UUID, UUID | None], list[dict[str, Any]]] | None = None
    dev_clock: DevClock | None = None
    ready: Callable[[], dict[str, bool]] = lambda: {}
    metrics: Callable[[], bytes] = lambda: b""  # Prometheus text (runtime/metrics.py)
    parked: Callable[[], dict[str, int]] = lambda: {}  # items set aside per follower (storage/parked.py)
    projections: tuple[str, ...] = ("campaign_summaries",)
    default_phone_region: str = "US"  # phones without a +country code are read as this region's
    credential_cipher: CredentialCipher | None = None  # None: credentials cannot be stored
    sending_providers: frozenset[str] | None = None  # providers with an adapter; None: any
    unsubscribe_tokens: UnsubscribeTokens | None = None  # reads /u/{token}; None: every token is a 404
    tracking_tokens: TrackingTokens | None = None  # reads /t/o and /t/c tokens; None: every token is a 404
    public_base_url: str = "http://127.0.0.1:8000"  # where Twilio reaches us: its signatures cover it
    admin_api_key: str | None = None  # ADMIN_API_KEY; None: the /admin/v1 routes do not exist


def services_of(request: Request) -> Services:
    """The services of the app serving `request`."""
    services: Services = request.app.state.services  # put there by api/app.py's create_app
    return services


# The two dependencies below do no I/O, so they are coroutines: FastAPI runs a plain function
# dependency in its thread pool, one hop to a worker thread and back for each, on every request.
async def services(request: Request) -> Services:
    return services_of(request)


async def brand(request: Request) -> UUID:
    """The caller's brand, decided from its API key by the request gate (api/gate.py) before routing."""
    decided: UUID | None = request.scope.get("state", {}).get("brand_id")
    if decided is None:  # every /v1 route is behind the gate: a route outside it cannot ask for a brand
        raise RuntimeError(f"{request.url.path} is not behind the request gate")
    log_context.bind(brand_id=decided, campaign_id=request.path_params.get("campaign_id"))
    return decided


ServicesDep = Annotated[Services, Depends(services)]


async def caller_key(request: Request) -> UUID:
    """The id of the API key the call came with, decided by the request gate with the brand."""
    decided: UUID | None = request.scope.get("state", {}).get("api_key_id")
    if decided is None:
        raise RuntimeError(f"{request.url.path} is not behind the request gate")
    return decided


BrandDep = Annotated[UUID, Depends(brand)]
CallerKeyDep = Annotated[UUID, Depends(caller_key)]
IdempotencyKey = Annotated[SafeText | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
Cursor = Annotated[CursorText | None, Query(description="next_cursor of the previous page")]


def answer_once(
    services: Services,
    brand: UUID,
    key: str | None,
    scope: str,
    run: Callable[[], tuple[int, Any]],
    request: BaseModel | dict[str, Any] | None = None,
) -> JSONResponse:
    """A create or launch that a repeat with the same Idempotency-Key and request answers again,
    doing nothing; `request` is the body that makes two requests the same one."""

    def answer() -> tuple[int, Any]:
        status, body = run()
        return status, jsonable_encoder(body)

    content = request.model_dump(mode="json") if isinstance(request, BaseModel) else request
    status, body = once(services.db, brand, key, scope, answer, content)
    return JSONResponse(body, status_code=status)
