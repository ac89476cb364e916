"""Use case: an email of one of the brand's steps bounced for good, so that step's recipient is
suppressed and the step is undelivered.

The caller has tied the bounce to a step it sent (its `<enrollment>:<step>` key, found by the
Message-ID the bounce names); the addresses a bounce lists are never taken, as anybody can write
them. The step records `StepUndelivered`, a hard one (its credit stays consumed: the provider took the
send; the deliverability guard counts it, decision record 0024),
and the email address it went to goes on the brand's suppression list
(commands/audience/suppressions.py), which withdraws its pending steps in every running campaign
of the brand and releases their credits. A step of another brand changes nothing. Both writes
are idempotent, so a bounce read twice changes nothing more.
"""

from __future__ import annotations

from contextlib import suppress as ignoring
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.suppressions import InvalidAddress, suppress
from storage.database import Database


def record_bounce(
    store: CampaignApplication, db: Database, brand_id: UUID, step_key: str, reason: str, now: datetime
) -> int:
    """Mark the step undelivered and suppress the address it was emailed to; 1 if the step is the
    brand's, else 0 and nothing written."""
    recipient = _undelivered(store, brand_id, step_key, reason, now)
    if recipient is None:
        return 0
    with ignoring(InvalidAddress):  # an enrollment holds only normalised addresses
        suppress(store, db, brand_id, recipient, f"hard bounce: {reason}", now)
    return 1


def _undelivered(
    store: CampaignApplication, brand_id: UUID, step_key: str, reason: str, now: datetime
) -> str | None:
    """Record the step undelivered (once); the email address it went to, if the brand's step."""
    enrollment_id, _, step_id = step_key.partition(":")
    try:
        enrollment_uuid = UUID(enrollment_id)
    except ValueError:
        return None

    def decide() -> str | None:
        enrollment = store.enrollment(enrollment_uuid)
        if enrollment.brand_id != brand_id or step_id not in {s.id for s in enrollment.plan}:
            return None
        if enrollment.record_undelivered(step_id, reason, now, hard=True):
            store.save_all([enrollment])
        return enrollment.addresses.get("email")

    return retry_on_conflict(decide)
