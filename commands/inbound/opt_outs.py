"""Use case: a contact opted out after a send, and the campaigns that sent it record so, for the
deliverability guard to count (decision record 0024).

The suppression list stops what has not been sent (commands/audience/suppressions.py); this records
the opt-out against the send it answered, as `ContactOptedOut` on the enrollment, also when nothing
is left to withdraw. A one-click unsubscribe names its campaign and contact, so its one enrollment
records it; a STOP text names only its number, so each of the brand's ACTIVE or PAUSED campaigns
that texted the number records it. An enrollment records an opt-out of a channel once, and only
after a send on it; one of another brand records nothing.
"""

from __future__ import annotations

from collections.abc import Sized
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict, save_changed
from commands.audience.suppressions import suppress
from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from domain.campaign import CampaignStatus
from domain.enrollment import Enrollment, WithdrawalCause
from domain.withdrawal import one_click_unsubscribe_words
from storage.database import Database

RUNNING = (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


def unsubscribe_by_link(
    store: CampaignApplication, db: Database, request: UnsubscribeRequest, now: datetime
) -> None:
    """A one-click unsubscribe (RFC 8058): the address goes on the brand's suppression list, which
    withdraws its pending steps, and the campaign whose email carried the link records the opt-out."""
    words = one_click_unsubscribe_words(request.campaign_id)
    suppress(store, db, request.brand_id, request.address, words, now)
    record_unsubscribe(store, request.brand_id, request.campaign_id, request.contact_id, now)


def record_unsubscribe(
    store: CampaignApplication, brand_id: UUID, campaign_id: UUID, contact_id: UUID, now: datetime
) -> int:
    """The contact unsubscribed from an email of the campaign; 1 if its enrollment recorded it."""
    enrollment_id = Enrollment.create_id(campaign_id, contact_id)
    return _opted_out(store, brand_id, [enrollment_id], "email", WithdrawalCause.UNSUBSCRIBED, now)


def record_stop(store: CampaignApplication, db: Database, brand_id: UUID, number: str, now: datetime) -> int:
    """A STOP came from `number` (as contacts store it); how many enrollments recorded it."""
    rows = db.fetch_all(
        """SELECT p.campaign_id, c.id AS contact_id FROM contacts c
           JOIN enrollment_progress p ON p.brand_id = c.brand_id
           WHERE c.brand_id = %s AND c.phone = %s""",
        (brand_id, number),
    )
    candidates = [Enrollment.create_id(row["campaign_id"], row["contact_id"]) for row in rows]
    return _opted_out(store, brand_id, candidates, "sms", WithdrawalCause.STOP_KEYWORD, now)


def _opted_out(
    store: CampaignApplication,
    brand_id: UUID,
    candidates: list[UUID],
    channel: str,
    cause: WithdrawalCause,
    now: datetime,
) -> int:
    if not candidates:
        return 0

    def decide() -> int:
        statuses: dict[UUID, CampaignStatus] = {}

        def opt_out(enrollment: Enrollment) -> Sized:
            if enrollment.brand_id != brand_id:
                return ()
            if enrollment.campaign_id not in statuses:
                statuses[enrollment.campaign_id] = store.campaign(enrollment.campaign_id).status
            if statuses[enrollment.campaign_id] not in RUNNING:
                return ()
            return ("the opt-out",) if enrollment.record_opt_out(channel, cause, now) else ()

        return save_changed(store, store.enrollments(candidates).values(), opt_out)

    return retry_on_conflict(decide)
