"""Campaign routes under /v1/campaign: create, launch, pause, resume, archive, list, get (also as it
stood at a past moment, rebuilt from events)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.definitions import CampaignIn
from api.deps import BrandDep, Cursor, IdempotencyKey, Limit, Services, ServicesDep, answer_once
from api.schemas import CampaignOut, CampaignPage, LaunchOut, StatusOut
from api.text import Moment
from commands.application import CampaignApplication
from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.campaigns.create_campaign import CreateCampaign, create_campaign
from commands.campaigns.launch_campaign import estimated_launch_cost, launch_campaign
from domain.campaign import CampaignStatus
from domain.errors import NotFound
from projections.campaign_history import campaign_as_of
from projections.campaign_summaries import summaries, summary
from projections.runner import wait_for_position

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/campaign", tags=["campaigns"])
NOT_NOW: dict[int | str, Any] = {409: {"description": "the campaign's status does not allow this"}}


COUNTERS = ("delivered", "opened", "clicked", "replied", "bounced", "failed", "unsubscribed", "cancelled")


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "enrolled": row["enrolled"],
        "sent": {"email": row["sent_email"], "sms": row["sent_sms"], "voicemail": row["sent_voicemail"]},
        **{name: row[name] for name in COUNTERS},
    }


def _pause(row: dict[str, Any]) -> dict[str, Any] | None:
    """Who paused the campaign, why and when, while it is PAUSED."""
    if row["status"] != "PAUSED" or row.get("pause_by") is None:
        return None
    return {"by": row["pause_by"], "reason": row["pause_reason"], "at": row["paused_at"]}


def _campaign(row: dict[str, Any]) -> dict[str, Any]:
    consumed, released = row["credits_consumed"], row["credits_released"]
    return {
        **row,
        "pause": _pause(row),
        "metrics": _metrics(row),
        "credits": {
            "reserved": row["credits_reserved"],
            "consumed": consumed,
            "released": released,
            "outstanding": row["credits_reserved"] - consumed - released,
        },
    }


def _read(services: Services, brand: UUID, campaign_id: UUID) -> dict[str, Any]:
    row = summary(services.db, brand, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id}")
    estimate = None
    if row["status"] == "DRAFT":
        estimate = estimated_launch_cost(services.store, services.db, brand, campaign_id)
    return {**_campaign(row), "estimated_credits": estimate}


def _new_draft(services: Services, brand: UUID, campaign_id: UUID) -> dict[str, Any]:
    """A campaign just created, from its aggregate: the read model lags, and a new DRAFT has no metrics."""
    campaign = services.store.campaign(campaign_id, brand)
    return {
        **{name: getattr(campaign, name) for name in CampaignOut.model_fields if hasattr(campaign, name)},
        "status": campaign.status.value,
        "pause": None,  # a new DRAFT was never paused (and `Campaign.pause` is the command)
        "steps": [step.as_dict() for step in campaign.steps],
        "metrics": {
            "enrolled": 0,
            "sent": {"email": 0, "sms": 0, "voicemail": 0},
            **dict.fromkeys(COUNTERS, 0),
        },
        "credits": {"reserved": 0, "consumed": 0, "released": 0, "outstanding": 0},
        "estimated_credits": estimated_launch_cost(services.store, services.db, brand, campaign_id),
    }


@router.post(
    "/",
    status_code=201,
    response_model=CampaignOut,
    responses={404: {"description": "a lead group or the template does not exist"}},
)
def create(
    body: CampaignIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> tuple[int, CampaignOut]:
        command = CreateCampaign(
            brand_id=brand,
            name=body.name,
            steps=[step.model_dump() for step in body.steps],
            audience_type=body.audience_type,
            ai_personalization=body.ai_personalization,
            lead_group_ids=body.lead_group_ids,
            timezone=body.timezone,
            sending_window=body.sending_window.model_dump() if body.sending_window else None,
            template_id=body.template_id,
        )
        campaign_id, position = create_campaign(services.store, services.db, command, services.clock.now())
        if wait_for_position(services.db, list(services.projections), position):
            return 201, CampaignOut.model_validate(_read(services, brand, campaign_id))
        return 201, CampaignOut.model_validate(_new_draft(services, brand, campaign_id))

    return answer_once(services, brand, idempotency_key, "POST /v1/campaign/", run, body)


@router.get("/", response_model=CampaignPage)
def list_campaigns(
    brand: BrandDep,
    services: ServicesDep,
    status: CampaignStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows, next_cursor = summaries(services.db, brand, status.value if status else None, limit, cursor)
    return {"items": [_campaign(row) for row in rows], "next_cursor": next_cursor}


AS_OF = (
    "the campaign as it stood at this moment (ISO-8601 with a zone, to the microsecond), rebuilt from "
    "the events that occurred at or before it; every time the service reports is its event's, so as of "
    "`created_at` the campaign is DRAFT and as of `launched_at` ACTIVE; 404 before it was created"
)


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(
    campaign_id: UUID,
    brand: BrandDep,
    services: ServicesDep,
    as_of: Annotated[Moment | None, Query(description=AS_OF)] = None,
) -> dict[str, Any]:
    if as_of is None:
        return _read(services, brand, campaign_id)
    row = campaign_as_of(services.store, services.db, brand, campaign_id, as_of)
    if row is None:
        raise NotFound(f"campaign {campaign_id} at {as_of.isoformat()}")
    return {**_campaign(row), "estimated_credits": None}


@router.post(
    "/{campaign_id}/launch",
    response_model=LaunchOut,
    responses={
        402: {"description": "credits are short: `needed` and `available` say by how much"},
        409: {"description": "the campaign is not a DRAFT, or the key's first request is running"},
        422: {"description": "the campaign cannot run: `problems` lists why"},
    },
)
def launch(
    campaign_id: UUID, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> tuple[int, dict[str, Any]]:
        now, providers = services.clock.now(), services.sending_providers
        launched = launch_campaign(services.store, services.db, brand, campaign_id, now, providers)
        log.info("campaign launched: %d credits reserved", launched.credits_reserved)
        wait_for_position(services.db, list(services.projections), launched.position)
        return 200, {"id": campaign_id, "status": "ACTIVE", "credits_reserved": launched.credits_reserved}

    return answer_once(services, brand, idempotency_key, f"POST /v1/campaign/{campaign_id}/launch", run)


# pause_campaign, resume_campaign or archive_campaign: the notification id written (None: nothing)
Transition = Callable[[CampaignApplication, UUID, UUID, datetime], int | None]


def _transition(services: Services, brand: UUID, campaign_id: UUID, change: Transition) -> dict[str, Any]:
    position = change(services.store, brand, campaign_id, services.clock.now())
    log.info("campaign %s: %s", change.__name__.split("_")[0], "done" if position else "nothing to change")
    wait_for_position(services.db, list(services.projections), position)  # so a GET then shows it
    return {"id": campaign_id, "status": services.store.campaign(campaign_id, brand).status.value}


@router.post("/{campaign_id}/pause", response_model=StatusOut, responses=NOT_NOW)
def pause(campaign_id: UUID, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return _transition(services, brand, campaign_id, pause_campaign)


@router.post("/{campaign_id}/resume", response_model=StatusOut, responses=NOT_NOW)
def resume(campaign_id: UUID, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return _transition(services, brand, campaign_id, resume_campaign)


@router.post("/{campaign_id}/archive", response_model=StatusOut, responses=NOT_NOW)
def archive(campaign_id: UUID, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return _transition(services, brand, campaign_id, archive_campaign)
