"""What happened in a campaign, under /v1/campaign/{id}: its step executions, its leads and its events.

Each is paged like every list (`limit`, `cursor`, `next_cursor`) and scoped to the caller's brand:
another brand's campaign is a 404, the same as an unknown id. The read models are current for the
caller's own writes, which wait for every projection before answering.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.deps import BrandDep, Cursor, Limit, Services, ServicesDep
from api.schemas import CampaignEventPage, ExecutionPage, LeadPage
from domain.enrollment import StepStatus
from domain.errors import NotFound
from projections.campaign_events import campaign_events
from projections.campaign_leads import leads
from projections.campaign_summaries import summary
from projections.step_executions import executions

router = APIRouter(prefix="/v1/campaign", tags=["campaigns"])


def _require_campaign(services: Services, brand: UUID, campaign_id: UUID) -> None:
    if summary(services.db, brand, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id}")


@router.get("/{campaign_id}/executions", response_model=ExecutionPage)
def list_executions(
    campaign_id: UUID,
    brand: BrandDep,
    services: ServicesDep,
    status: StepStatus | None = None,
    contact_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    _require_campaign(services, brand, campaign_id)
    state = status.value if status else None
    rows, next_cursor = executions(services.db, campaign_id, state, contact_id, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{campaign_id}/leads", response_model=LeadPage)
def list_leads(
    campaign_id: UUID, brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    _require_campaign(services, brand, campaign_id)
    rows, next_cursor = leads(services.db, campaign_id, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{campaign_id}/events", response_model=CampaignEventPage)
def list_events(
    campaign_id: UUID, brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    services.store.campaign(campaign_id, brand)  # NotFound for another brand's campaign
    items, next_cursor = campaign_events(services.store, services.db, campaign_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}
