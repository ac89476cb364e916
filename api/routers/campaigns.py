"""Campaign routes under /v1/campaign: create, launch, pause, resume, archive, list, get."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.deps import BrandDep, Services, ServicesDep
from api.errors import Problem
from api.schemas import CampaignIn, CampaignOut, CampaignPage, LaunchOut, StatusOut
from commands.application import NotFound
from commands.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.create_campaign import CreateCampaign, create_campaign
from commands.idempotency import KeyInUse, once
from commands.launch_campaign import launch_campaign
from projections.campaign_summaries import summaries, summary
from projections.runner import wait_for_position

router = APIRouter(prefix="/v1/campaign", tags=["campaigns"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    counters = ("delivered", "opened", "clicked", "replied", "bounced", "failed", "unsubscribed", "cancelled")
    return {
        "enrolled": row["enrolled"],
        "sent": {"email": row["sent_email"], "sms": row["sent_sms"], "voicemail": row["sent_voicemail"]},
        **{name: row[name] for name in counters},
    }


def _campaign(row: dict[str, Any]) -> dict[str, Any]:
    consumed, released = row["credits_consumed"], row["credits_released"]
    return {
        **row,
        "metrics": _metrics(row),
        "credits": {
            "reserved": row["credits_reserved"],
            "consumed": consumed,
            "released": released,
            "outstanding": row["credits_reserved"] - consumed - released,
        },
    }


def _read(services: Services, brand: UUID, campaign_id: UUID, position: int | None = None) -> dict:
    wait_for_position(services.db, list(services.projections), position)
    row = summary(services.db, brand, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id}")
    return _campaign(row)


def _idempotent(services: Services, brand: UUID, key: str | None, scope: str, run) -> JSONResponse:
    def answer() -> tuple[int, Any]:
        status, body = run()
        return status, jsonable_encoder(body)

    try:
        status, body = once(services.db, brand, key, scope, answer)
    except KeyInUse as clash:
        raise Problem(409, "Idempotency key in use", str(clash)) from clash
    return JSONResponse(body, status_code=status)


@router.post("/", status_code=201, response_model=CampaignOut)
def create(body: CampaignIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None):
    if body.template_id is not None:
        raise NotFound(f"template {body.template_id}")

    def run():
        command = CreateCampaign(
            brand_id=brand,
            name=body.name,
            steps=[step.model_dump() for step in body.steps],
            audience_type=body.audience_type,
            ai_personalization=body.ai_personalization,
            lead_group_ids=body.lead_group_ids,
            timezone=body.timezone,
            sending_window=body.sending_window.model_dump() if body.sending_window else None,
        )
        campaign_id, position = create_campaign(services.app, services.db, command, services.clock.now())
        return 201, CampaignOut.model_validate(_read(services, brand, campaign_id, position))

    return _idempotent(services, brand, idempotency_key, "POST /v1/campaign/", run)


@router.get("/", response_model=CampaignPage)
def list_campaigns(
    brand: BrandDep,
    services: ServicesDep,
    status: Annotated[str | None, Query(pattern="^(DRAFT|ACTIVE|PAUSED|COMPLETED|ARCHIVED)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
):
    try:
        rows, next_cursor = summaries(services.db, brand, status, limit, cursor)
    except ValueError as bad:
        raise Problem(400, "Invalid cursor", "the cursor is not one this API gave out") from bad
    return {"items": [_campaign(row) for row in rows], "next_cursor": next_cursor}


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: UUID, brand: BrandDep, services: ServicesDep):
    return _read(services, brand, campaign_id)


@router.post("/{campaign_id}/launch", response_model=LaunchOut)
def launch(campaign_id: UUID, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None):
    def run():
        launched = launch_campaign(services.app, services.db, brand, campaign_id, services.clock.now())
        wait_for_position(services.db, list(services.projections), launched.position)
        return 200, {"id": campaign_id, "status": "ACTIVE", "credits_reserved": launched.credits_reserved}

    return _idempotent(services, brand, idempotency_key, f"POST /v1/campaign/{campaign_id}/launch", run)


def _transition(services: Services, brand: UUID, campaign_id: UUID, change) -> dict:
    position = change(services.app, brand, campaign_id, services.clock.now())
    row = _read(services, brand, campaign_id, position)
    return {"id": campaign_id, "status": row["status"]}


@router.post("/{campaign_id}/pause", response_model=StatusOut)
def pause(campaign_id: UUID, brand: BrandDep, services: ServicesDep):
    return _transition(services, brand, campaign_id, pause_campaign)


@router.post("/{campaign_id}/resume", response_model=StatusOut)
def resume(campaign_id: UUID, brand: BrandDep, services: ServicesDep):
    return _transition(services, brand, campaign_id, resume_campaign)


@router.post("/{campaign_id}/archive", response_model=StatusOut)
def archive(campaign_id: UUID, brand: BrandDep, services: ServicesDep):
    return _transition(services, brand, campaign_id, archive_campaign)
