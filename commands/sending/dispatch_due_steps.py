"""Use case (the follow-up processor): dispatch the due steps of the given enrollments, in one write.

Only enrollments of ACTIVE campaigns are dispatched, and none of a suspended brand (its steps
wait for the brand's reinstatement); a finished enrollment (replied, unsubscribed,
bounced, or done) has nothing due. Idempotent: a step already dispatched is not dispatched again,
and two follow-up processors racing on one enrollment meet a version conflict and re-check.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict, save_changed
from domain.campaign import CampaignStatus
from domain.enrollment import Enrollment
from domain.steps import Step


def dispatch_due_steps(
    store: CampaignApplication,
    enrollment_ids: list[UUID],
    now: datetime,
    suspended: Collection[UUID] = frozenset(),
) -> int:
    """Dispatch what is due now, except the steps of the `suspended` brands; return how many steps
    were dispatched."""

    def decide() -> int:
        statuses: dict[UUID, CampaignStatus] = {}

        def dispatch(enrollment: Enrollment) -> list[Step]:
            if enrollment.brand_id in suspended:
                return []
            if enrollment.campaign_id not in statuses:
                statuses[enrollment.campaign_id] = store.campaign(enrollment.campaign_id).status
            if statuses[enrollment.campaign_id] is not CampaignStatus.ACTIVE:
                return []
            return enrollment.dispatch_due(now)

        loaded = store.enrollments(enrollment_ids)
        return save_changed(store, [loaded[i] for i in enrollment_ids if i in loaded], dispatch)

    return retry_on_conflict(decide)
