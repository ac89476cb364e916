"""Use cases: pause, resume and archive a campaign (the Campaign aggregate guards the transitions).

Archive does not touch the ledger here: releasing what an archived campaign still holds needs every
send recorded before the archive settled as consumed first, which is the settlement process's job
(it follows the event log; not built yet, see the open issue on completion and settlement).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain.campaign import Campaign


def _change(
    store: CampaignApplication, brand_id: UUID, campaign_id: UUID, change: Callable[[Campaign], None]
) -> int | None:
    def decide() -> int | None:
        campaign = store.campaign(campaign_id, brand_id)
        change(campaign)
        return store.save_all([campaign])

    return retry_on_conflict(decide)


def pause_campaign(
    store: CampaignApplication, brand_id: UUID, campaign_id: UUID, now: datetime
) -> int | None:
    return _change(store, brand_id, campaign_id, lambda campaign: campaign.pause(now))


def resume_campaign(
    store: CampaignApplication, brand_id: UUID, campaign_id: UUID, now: datetime
) -> int | None:
    return _change(store, brand_id, campaign_id, lambda campaign: campaign.resume(now))


def archive_campaign(
    store: CampaignApplication, brand_id: UUID, campaign_id: UUID, now: datetime
) -> int | None:
    return _change(store, brand_id, campaign_id, lambda campaign: campaign.archive(now))
