"""Use case (the sweeper): dispatch again the steps of a campaign whose dispatch message was lost.

A step stays "dispatched" or "attempted" for good when its message never reaches a worker (a
transport that lost it, a worker that died without a redelivery). Past a lease longer than any
provider call nobody is sending it any more, so a new StepDispatched for the same step is safe:
the worker reconciles a step attempted before with the provider by its key before any new call,
and holds the step's lock while it sends. One campaign per call, in one write; only ACTIVE
campaigns (a paused one's steps are dealt with on resume), except the steps an archived campaign
left at a provider, which are dispatched again only to be reconciled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict, save_changed
from domain.campaign import CampaignStatus


def redispatch_stale_steps(
    store: CampaignApplication, campaign_id: UUID, enrollment_ids: list[UUID], now: datetime, lease: timedelta
) -> int:
    """Dispatch again what has been in flight longer than `lease`; return how many steps."""

    def decide() -> int:
        if store.campaign(campaign_id).status is not CampaignStatus.ACTIVE:
            return 0
        ours = [e for e in store.enrollments(enrollment_ids).values() if e.campaign_id == campaign_id]
        return save_changed(store, ours, lambda enrollment: enrollment.redispatch_stale(now, lease))

    return retry_on_conflict(decide)


def reconcile_held_steps(
    store: CampaignApplication, campaign_id: UUID, enrollment_ids: list[UUID], now: datetime, lease: timedelta
) -> int:
    """For a campaign archived while some of its steps were at a provider: dispatch those steps
    again, past the lease, so their workers ask the provider and record the outcome the credit
    they hold waits for (sent: consumed; never got it: released). Return how many steps."""

    def decide() -> int:
        if store.campaign(campaign_id).status is CampaignStatus.ACTIVE:
            return 0  # running again is impossible once archived; never reconcile a live campaign here
        ours = [e for e in store.enrollments(enrollment_ids).values() if e.campaign_id == campaign_id]
        return save_changed(store, ours, lambda enrollment: enrollment.redispatch_unsettled(now, lease))

    return retry_on_conflict(decide)
