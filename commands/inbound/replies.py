"""Use case: a contact replied, so its remaining steps stop in the campaigns the reply answers.

A text names no campaign: the contact is found by the number it replied from, and each of its
enrollments in the brand's ACTIVE or PAUSED campaigns records the reply (`record_reply`). An email
answers one thread, so it names its enrollment (`record_reply_in_enrollment`). Either way the
enrollment records the reply (once) and withdraws its unsent steps, whose credits the settlement
then releases (domain/enrollment_after_send.py, `record_reply`). A finished enrollment records the reply too,
so the campaign's metrics count it.
"""

from __future__ import annotations

from collections.abc import Sized
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict, save_changed
from domain.campaign import CampaignStatus
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment
from storage.database import Database

RUNNING = (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)
ADDRESS_COLUMN = {"sms": "phone", "voicemail": "phone", "email": "email"}


def record_reply(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    address: str,
    channel: str,
    provider_message_id: str,
    now: datetime,
) -> int:
    """Record the reply from `address` (as contacts store it) on `channel`; return how many
    enrollments recorded it."""
    column = ADDRESS_COLUMN[channel]
    rows = db.fetch_all(
        f"""SELECT p.campaign_id, c.id AS contact_id FROM contacts c
            JOIN enrollment_progress p ON p.brand_id = c.brand_id
            WHERE c.brand_id = %s AND c.{column} = %s""",
        (brand_id, address),
    )
    candidates = [Enrollment.create_id(row["campaign_id"], row["contact_id"]) for row in rows]
    return _replied_in(store, candidates, channel, provider_message_id, now)


def record_reply_in_enrollment(
    store: CampaignApplication, enrollment_id: UUID, channel: str, provider_message_id: str, now: datetime
) -> int:
    """Record a reply that answers one enrollment's message (an email in its thread); 1 if recorded."""
    return _replied_in(store, [enrollment_id], channel, provider_message_id, now)


def _replied_in(
    store: CampaignApplication, candidates: list[UUID], channel: str, provider_message_id: str, now: datetime
) -> int:
    if not candidates:
        return 0

    def decide() -> int:
        statuses: dict[UUID, CampaignStatus] = {}
        replied = 0

        def reply(enrollment: Enrollment) -> Sized:
            nonlocal replied
            if enrollment.replied_at is not None:
                return ()
            if enrollment.campaign_id not in statuses:
                statuses[enrollment.campaign_id] = store.campaign(enrollment.campaign_id).status
            if statuses[enrollment.campaign_id] not in RUNNING:
                return ()
            if not enrollment.record_reply(channel, provider_message_id, DEFAULT_UNIT_COSTS, now):
                return ()
            replied += 1
            return ("the reply",)

        save_changed(store, store.enrollments(candidates).values(), reply)
        return replied

    return retry_on_conflict(decide)
