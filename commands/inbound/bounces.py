"""Use case: an email bounced for good, so its address is suppressed and its step is undelivered.

A hard bounce means the address cannot receive mail: it goes on the brand's suppression list
(commands/audience/suppressions.py), which withdraws its pending steps in every running campaign
of the brand and releases their credits. The step whose message bounced, when known, records
`StepUndelivered` (its credit stays consumed: the provider took the send). Both writes are
idempotent, so a bounce read twice changes nothing more.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.suppressions import InvalidAddress, suppress
from storage.database import Database


def record_bounce(
    app: CampaignApplication,
    db: Database,
    brand_id: UUID,
    addresses: list[str],
    step_key: str | None,
    reason: str,
    now: datetime,
) -> int:
    """Suppress the failed addresses for the brand and mark the step (`<enrollment>:<step>`)
    undelivered; the number of addresses newly suppressed. With no address named, the step's
    own recipient is the one that failed."""
    recipient = _undelivered(app, brand_id, step_key, reason, now) if step_key is not None else None
    added = 0
    for address in addresses or ([recipient] if recipient else []):
        try:
            added += suppress(app, db, brand_id, address, f"hard bounce: {reason}", now).created
        except InvalidAddress:
            continue  # a bounce naming something that is not an address: nothing to suppress
    return added


def _undelivered(
    app: CampaignApplication, brand_id: UUID, step_key: str, reason: str, now: datetime
) -> str | None:
    """Record the step undelivered (once); the email address it went to, if the brand's own."""
    enrollment_id, _, step_id = step_key.partition(":")

    def decide() -> str | None:
        enrollment = app.enrollment(UUID(enrollment_id))
        if enrollment.brand_id != brand_id:
            return None
        if enrollment.record_undelivered(step_id, reason, now):
            app.save_all([enrollment])
        return enrollment.addresses.get("email")

    return retry_on_conflict(decide)
