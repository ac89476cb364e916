"""Read model: one row per campaign with its definition, status, metrics and credits.

Serves the campaign list and detail. Credits come from the ledger's settlement events (the
ledger is the credit authority); sends, failures, opens and clicks from the enrollments (an
enrollment records only a step's first open and first click, so each counts a step once);
`unsubscribed` counts the steps withdrawn because the contact unsubscribed (one-click or STOP);
a pause keeps who made it (a user or the deliverability guard), why and when, until the resume.
Counters are summed per campaign over a batch of events and written with one UPDATE per
campaign, so applying thousands of sends costs a few statements.
Its times (`created_at`, `launched_at`, ...) are the events' own timestamps, so `as_of` one of them
shows the change made then (domain/event_time.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from storage.database import Database
from storage.paging import after, cursor_params, page

# What the metrics count, and the ledger events the credits come from (campaign_history.py
# rebuilds a summary as of a moment from the same events).
COUNTED_ENROLLMENT_EVENTS = (
    Enrollment.ContactEnrolled,
    Enrollment.EnrollmentFinished,
    Enrollment.StepSent,
    Enrollment.StepFailed,
    Enrollment.StepCancelled,
    Enrollment.StepWithdrawn,
    Enrollment.StepDelivered,
    Enrollment.StepUndelivered,
    Enrollment.ContactReplied,
    Enrollment.StepOpened,
    Enrollment.StepClicked,
)
SETTLEMENT_EVENTS = (CreditLedger.CreditsReserved, CreditLedger.CreditsConsumed, CreditLedger.CreditsReleased)


class CampaignSummaries:
    name = "campaign_summaries"
    tables = ("campaign_summaries",)
    events = (
        Campaign.CampaignCreated,
        Campaign.CampaignLaunched,
        Campaign.CampaignPaused,
        Campaign.CampaignResumed,
        Campaign.CampaignCompleted,
        Campaign.CampaignArchived,
        *SETTLEMENT_EVENTS,
        *COUNTED_ENROLLMENT_EVENTS,
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM campaign_summaries")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        deltas: dict[UUID, Counter[str]] = defaultdict(Counter)
        for _, event in events:
            if isinstance(event, Campaign.CampaignCreated):
                cur.execute(
                    """INSERT INTO campaign_summaries (id, brand_id, name, status, audience_type,
                       ai_personalization, lead_group_ids, steps, timezone, sending_window, created_at)
                       VALUES (%s,%s,%s,'DRAFT',%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO NOTHING""",
                    (
                        event.originator_id,
                        event.brand_id,
                        event.name,
                        event.audience_type,
                        event.ai_personalization,
                        Jsonb(event.lead_group_ids),
                        Jsonb(event.steps),
                        event.timezone,
                        Jsonb(event.sending_window),
                        event.timestamp,  # the event's own time, as every read reports it
                    ),
                )
            elif isinstance(event, Campaign.CampaignLaunched):
                self._set(cur, event.originator_id, status="ACTIVE", launched_at=event.timestamp)
            elif isinstance(event, Campaign.CampaignPaused):
                pause = {"pause_by": event.by, "pause_reason": event.reason, "paused_at": event.timestamp}
                self._set(cur, event.originator_id, status="PAUSED", **pause)
            elif isinstance(event, Campaign.CampaignResumed):
                pause = {"pause_by": None, "pause_reason": None, "paused_at": None}
                self._set(cur, event.originator_id, status="ACTIVE", **pause)
            elif isinstance(event, Campaign.CampaignCompleted):
                self._set(cur, event.originator_id, status="COMPLETED", completed_at=event.timestamp)
            elif isinstance(event, Campaign.CampaignArchived):
                self._set(cur, event.originator_id, status="ARCHIVED", archived_at=event.timestamp)
            elif isinstance(event, CreditLedger.CreditsReserved):
                self._set(cur, event.campaign_id, credits_reserved=event.amount)
            elif isinstance(event, CreditLedger.CreditsConsumed):
                deltas[event.campaign_id]["credits_consumed"] += event.amount
            elif isinstance(event, CreditLedger.CreditsReleased):
                deltas[event.campaign_id]["credits_released"] += event.amount
            elif isinstance(event, Enrollment.EnrollmentFinished):
                deltas[event.campaign_id]["finished"] += 1
            elif isinstance(event, Enrollment.ContactEnrolled):
                deltas[event.campaign_id]["enrolled"] += 1
            elif isinstance(
                event,
                Enrollment.StepSent
                | Enrollment.StepFailed
                | Enrollment.StepCancelled
                | Enrollment.StepWithdrawn
                | Enrollment.StepDelivered
                | Enrollment.StepUndelivered
                | Enrollment.ContactReplied
                | Enrollment.StepOpened
                | Enrollment.StepClicked,
            ):
                self._count_execution(event, deltas[event.campaign_id])
        for campaign_id, delta in deltas.items():
            sets = ", ".join(f"{column} = {column} + %s" for column in delta)
            cur.execute(f"UPDATE campaign_summaries SET {sets} WHERE id = %s", (*delta.values(), campaign_id))

    @staticmethod
    def _count_execution(event: Any, delta: Counter[str]) -> None:
        count_execution(event, delta)

    @staticmethod
    def _set(cur: Any, campaign_id: UUID, **values: Any) -> None:
        sets = ", ".join(f"{column} = %s" for column in values)
        cur.execute(f"UPDATE campaign_summaries SET {sets} WHERE id = %s", (*values.values(), campaign_id))


def count_execution(event: Any, counts: Counter[str]) -> None:
    """The metric one step event moves (also used to rebuild a campaign as of a past moment)."""
    if isinstance(event, Enrollment.StepSent):
        counts[f"sent_{event.channel}"] += 1
        counts["finished"] += event.finished  # the enrollment's last send (before v3: its own event)
    elif isinstance(event, Enrollment.StepFailed):
        counts["failed"] += 1
    elif isinstance(event, Enrollment.StepDelivered):
        counts["delivered"] += 1
    elif isinstance(event, Enrollment.StepUndelivered):
        counts["bounced"] += 1
    elif isinstance(event, Enrollment.ContactReplied):
        counts["replied"] += 1
    elif isinstance(event, Enrollment.StepOpened):  # recorded once per step: its first open
        counts["opened"] += 1
    elif isinstance(event, Enrollment.StepClicked):  # recorded once per step: its first click
        counts["clicked"] += 1
    else:
        if isinstance(event, Enrollment.StepWithdrawn) and event.withdrawal_cause.is_unsubscribe:
            counts["unsubscribed"] += 1  # each step the contact's opt-out took back
        # paused (sent later), or withdrawn for good (a suppressed address, a reply): not sent now
        counts["cancelled"] += 1


def summary(db: Database, brand_id: UUID, campaign_id: UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT * FROM campaign_summaries WHERE id = %s AND brand_id = %s", (campaign_id, brand_id)
    )


def summaries(
    db: Database, brand_id: UUID, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's campaigns, oldest first; ValueError for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT * FROM campaign_summaries
           WHERE brand_id = %(brand)s AND (%(status)s::text IS NULL OR status = %(status)s) AND {after()}
           ORDER BY created_at, id LIMIT %(limit)s""",
        {"brand": brand_id, "status": status, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)


def finished_counts(db: Database, campaign_ids: list[UUID]) -> dict[UUID, int]:
    """How many enrollments have finished, for ACTIVE campaigns among those given."""
    rows = db.fetch_all(
        "SELECT id, finished FROM campaign_summaries WHERE id = ANY(%s) AND status = 'ACTIVE'",
        (campaign_ids,),
    )
    return {row["id"]: row["finished"] for row in rows}


def counts_by_status(db: Database) -> dict[str, int]:
    """Campaigns per status, across brands (for /metrics)."""
    rows = db.fetch_all("SELECT status, count(*) AS n FROM campaign_summaries GROUP BY status")
    return {row["status"]: row["n"] for row in rows}
