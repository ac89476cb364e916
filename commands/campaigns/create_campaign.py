"""Use case: create a campaign in DRAFT from its name, audience and steps (given, or a template's).

Steps are checked before anything is saved (commands/campaigns/campaign_templates.py): the domain's step rules and
the syntax of every `{{field|fallback}}` placeholder, each problem listed in one 422.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from commands.application import CampaignApplication
from commands.audience.lead_groups import missing_lead_groups
from commands.campaigns.campaign_templates import checked_steps, template
from domain.campaign import Campaign
from domain.errors import InvalidCampaign, NotFound
from domain.sending_window import DAYS
from storage.database import Database

DEFAULT_WINDOW = {"days": list(DAYS), "start": "00:00", "end": "24:00"}


@dataclass(frozen=True)
class CreateCampaign:
    brand_id: UUID
    name: str
    steps: list[dict[str, Any]]
    audience_type: str = "leads"
    ai_personalization: bool = False
    lead_group_ids: list[UUID] = field(default_factory=list)
    timezone: str = "UTC"
    sending_window: dict[str, Any] | None = None
    template_id: UUID | None = None  # copy this stored template's steps; `steps` must then be empty


def create_campaign(
    store: CampaignApplication, db: Database, command: CreateCampaign, now: datetime
) -> tuple[UUID, int | None]:
    """Create the campaign; return its id and the notification id written."""
    missing = missing_lead_groups(db, command.brand_id, command.lead_group_ids)
    if missing:
        raise NotFound(f"lead group {missing[0]}")
    raw_steps = command.steps
    if command.template_id is not None:
        raw_steps = template(db, command.brand_id, command.template_id)["steps"]  # NotFound first
        if command.steps:
            raise InvalidCampaign("give either steps or template_id, not both")
    steps = checked_steps(raw_steps)
    campaign = Campaign.create(
        campaign_id=uuid4(),
        brand_id=command.brand_id,
        name=command.name,
        steps=steps,
        created_at=now,
        audience_type=command.audience_type,
        ai_personalization=command.ai_personalization,
        lead_group_ids=[str(group_id) for group_id in command.lead_group_ids],
        timezone=command.timezone,
        sending_window=command.sending_window or DEFAULT_WINDOW,
    )
    return campaign.id, store.save_all([campaign])
