"""Use case: a newly suppressed address gets nothing more from any running campaign of its brand.

Finds the brand's launched campaigns whose audience holds a contact with that address (an
enrollment's id is uuid5(campaign, contact), so no search of the event store is needed), and in
those still ACTIVE or PAUSED withdraws every unsent step on the address's channels (email for an
email address; SMS and voicemail for a phone number), each with its credit released. Steps to
the same contact on other channels go on. A step already being attempted is left to its worker,
which checks the suppression list right before the provider call. Idempotent: a step withdrawn
once is final, so running it again changes nothing. The suppression list keeps words only, so the
withdrawals' cause is read from them (`WithdrawalCause.of_words`: a one-click unsubscribe or a STOP
text as domain/withdrawal.py words them, else a suppression).
"""

from __future__ import annotations

from collections.abc import Sized
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict, save_changed
from domain.campaign import CampaignStatus
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment, WithdrawalCause
from domain.steps import Channel
from storage.database import Database

CHANNELS_OF: dict[str, tuple[Channel, ...]] = {"email": ("email",), "phone": ("sms", "voicemail")}
RUNNING = (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


def withdraw_suppressed_address(
    store: CampaignApplication, db: Database, brand_id: UUID, address: str, reason: str, now: datetime
) -> int:
    """Withdraw the address's pending steps (`address` normalised as stored); return how many."""
    kind = "email" if "@" in address else "phone"
    channels = CHANNELS_OF[kind]
    rows = db.fetch_all(
        f"""SELECT p.campaign_id, c.id AS contact_id FROM contacts c
            JOIN enrollment_progress p ON p.brand_id = c.brand_id
            WHERE c.brand_id = %s AND c.{kind} = %s""",
        (brand_id, address),
    )
    candidates = [Enrollment.create_id(row["campaign_id"], row["contact_id"]) for row in rows]
    if not candidates:
        return 0
    cause = WithdrawalCause.of_words(reason)

    def decide() -> int:
        statuses: dict[UUID, CampaignStatus] = {}

        def withdraw(enrollment: Enrollment) -> Sized:
            if enrollment.finished or address not in (enrollment.addresses.get(c) for c in channels):
                return ()
            if enrollment.campaign_id not in statuses:
                statuses[enrollment.campaign_id] = store.campaign(enrollment.campaign_id).status
            if statuses[enrollment.campaign_id] not in RUNNING:
                return ()
            return enrollment.withdraw(channels, reason, DEFAULT_UNIT_COSTS, now, cause=cause)

        return save_changed(store, store.enrollments(candidates).values(), withdraw)

    return retry_on_conflict(decide)
