"""Use case: mark a campaign COMPLETED once its whole audience is enrolled and every enrollment finished."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain.campaign import CampaignStatus


def complete_campaign(store: CampaignApplication, campaign_id: UUID, now: datetime) -> bool:
    """Complete the campaign if it is still ACTIVE; the settlement process then releases its rest."""

    def decide() -> bool:
        campaign = store.campaign(campaign_id)
        if campaign.status is not CampaignStatus.ACTIVE:
            return False
        campaign.complete(now)
        store.save_all([campaign])
        return True

    return retry_on_conflict(decide)
