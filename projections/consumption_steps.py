"""The steps a consumption paid for: a campaign's sends that one `CreditsConsumed` settled.

Settlement (commands/credits/settle_credits.py) sums a campaign's StepSent credits along the log
and consumes them in a batch that records `settled_through`, the log position it read through; the
campaign's previous consumption (or 0) is where the batch started. So the steps a consumption paid
for are the campaign's enrollments' StepSent events with a log position in (previous
settled_through, settled_through], the range the credit audit (projections/history/ledger_audit.py)
also matches consumption to sends by. Read from the event store's table: the consumptions of the
campaign through the ledger entries read model's positions, the sends through the leads read model's
enrollments, a page at a time in log order, and the total by walking the pages (memory bounded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from storage.database import Database
from storage.event_log import events_table, to_event
from storage.paging import page_by_position, position_after

SENT = get_topic(Enrollment.StepSent)
# The sends read per page when a consumption's total is summed: memory stays bounded however many
# it paid for.
TOTAL_PAGE = 1000


@dataclass(frozen=True)
class Consumption:
    campaign_id: UUID
    amount: int
    consumed_at: datetime
    settled_from: int  # exclusive: the campaign's previous consumption's settled_through (or 0)
    settled_through: int  # inclusive


def _consumed_events(
    store: Application[UUID], db: Database, ledger_id: UUID, positions: list[int]
) -> list[tuple[int, Any]]:
    query = sql.SQL(
        """SELECT notification_id AS position, originator_id, originator_version, topic, state
           FROM {events} WHERE originator_id = %s AND notification_id = ANY(%s)
           ORDER BY notification_id"""
    ).format(events=events_table(store))
    rows = db.fetch_all(query, (ledger_id, positions))
    found = [(row["position"], to_event(store, row)) for row in rows]
    return [(position, event) for position, event in found if isinstance(event, CreditLedger.CreditsConsumed)]


def _consumptions(
    store: Application[UUID], db: Database, ledger_id: UUID, campaign_ids: list[UUID]
) -> dict[int, Consumption]:
    """Every consumption of these campaigns on the ledger, by its log position, with where each
    started (those recorded before consumptions kept `settled_through` have 0 for both)."""
    rows = db.fetch_all(
        """SELECT position FROM credit_ledger_entries
           WHERE ledger_id = %s AND campaign_id = ANY(%s) AND type = 'consumed' ORDER BY position""",
        (ledger_id, campaign_ids),
    )
    last: dict[UUID, int] = {}
    found: dict[int, Consumption] = {}
    for position, event in _consumed_events(store, db, ledger_id, [row["position"] for row in rows]):
        start = last.get(event.campaign_id, 0) if event.settled_through else 0
        found[position] = Consumption(
            event.campaign_id, event.amount, event.consumed_at, start, event.settled_through
        )
        if event.settled_through:
            last[event.campaign_id] = max(start, event.settled_through)
    return found


def steps_paid(
    store: Application[UUID], db: Database, brand_id: UUID, positions: list[int]
) -> dict[int, tuple[Consumption, int]]:
    """For the brand's consumptions at these log positions: each one and how many sends it paid
    for (one counting query; consumptions recorded before they kept `settled_through` are left out)."""
    if not positions:
        return {}
    ledger_id = CreditLedger.create_id(brand_id)
    asked = dict(_consumed_events(store, db, ledger_id, positions))
    campaigns = list({event.campaign_id for event in asked.values()})
    known = {
        position: paid
        for position, paid in _consumptions(store, db, ledger_id, campaigns).items()
        if position in asked and paid.settled_through
    }
    if not known:
        return {}
    query = sql.SQL(
        """SELECT r.position, (SELECT count(*) FROM {events} e
                               JOIN campaign_leads l ON l.enrollment_id = e.originator_id
                               WHERE l.campaign_id = r.campaign AND e.topic = %s
                                 AND e.notification_id > r.after AND e.notification_id <= r.through) AS n
           FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::bigint[]) AS r(position, campaign, after, through)"""
    ).format(events=events_table(store))
    items = list(known.items())
    rows = db.fetch_all(
        query,
        (
            SENT,
            [position for position, _ in items],
            [paid.campaign_id for _, paid in items],
            [paid.settled_from for _, paid in items],
            [paid.settled_through for _, paid in items],
        ),
    )
    return {row["position"]: (known[row["position"]], int(row["n"])) for row in rows}


def consumption(
    store: Application[UUID], db: Database, brand_id: UUID, campaign_id: UUID, settled_through: int
) -> Consumption | None:
    """The brand's consumption for the campaign that settled through `settled_through`, with where
    it started; None when the brand has no such consumption (another brand's campaign included)."""
    if settled_through <= 0:
        return None
    ledger_id = CreditLedger.create_id(brand_id)
    for paid in _consumptions(store, db, ledger_id, [campaign_id]).values():
        if paid.settled_through == settled_through:
            return paid
    return None


def paid_steps(
    store: Application[UUID], db: Database, paid: Consumption, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the sends the consumption paid for, in log order: contact, step, channel, sent
    time, log position and credits. InvalidCursor for a cursor not handed out."""
    after = max(paid.settled_from, position_after(cursor))
    query = sql.SQL(
        """SELECT e.notification_id AS position, e.originator_id, e.originator_version, e.topic, e.state,
                  l.contact_id
           FROM {events} e JOIN campaign_leads l ON l.enrollment_id = e.originator_id
           WHERE l.campaign_id = %(campaign)s AND e.topic = %(topic)s
             AND e.notification_id > %(after)s AND e.notification_id <= %(through)s
           ORDER BY e.notification_id LIMIT %(limit)s"""
    ).format(events=events_table(store))
    rows = db.fetch_all(
        query,
        {
            "campaign": paid.campaign_id,
            "topic": SENT,
            "after": after,
            "through": paid.settled_through,
            "limit": limit + 1,
        },
    )
    rows, next_cursor = page_by_position(rows, limit)
    steps = []
    for row in rows:
        sent = to_event(store, row)
        steps.append(
            {
                "position": row["position"],
                "contact_id": row["contact_id"],
                "step_id": sent.step_id,
                "channel": sent.channel,
                "sent_at": sent.sent_at,
                "credits": sent.credits,
            }
        )
    return steps, next_cursor


def paid_total(store: Application[UUID], db: Database, paid: Consumption) -> tuple[int, int]:
    """The number of sends the consumption paid for and the credits they carry, page by page."""
    count = total = 0
    cursor = None
    while True:
        steps, cursor = paid_steps(store, db, paid, TOTAL_PAGE, cursor)
        count += len(steps)
        total += sum(step["credits"] for step in steps)
        if cursor is None:
            return count, total
