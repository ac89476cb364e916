"""A campaign's history as its events: the campaign's own and its enrollments', in log order.

Read from the event store's table, not from a read model of copies. Which positions a page holds
comes from the campaign's positions read model (projections/campaign_event_positions.py: a row or
two from where the cursor stands) and, past that read model's position, from the log itself, whose
rows of the campaign's streams are the campaign's own and those of its enrollments in the leads read
model; a read model more than `MAX_TAIL` positions behind, or with an event of the campaign's brand
(or of no brand known) parked, hands the page
to the streams' read (every enrollment's events, as before it): slower, never different. Each row
is decoded by the application (so old shapes are upcast) and rendered by the one event-to-JSON
function. No event carries a secret: sender credentials live only, encrypted, in sender_accounts.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from psycopg import sql

from projections.campaign_event_positions import positions_after
from storage.database import Database
from storage.event_json import event_to_json
from storage.event_log import erased_keys, events_table, to_event
from storage.paging import page_by_position, position_after

MAX_TAIL = 50_000  # log positions past the read model read before reading every stream is cheaper
COLUMNS = "notification_id AS position, originator_id, originator_version, topic, state"

BY_POSITION = "SELECT {columns} FROM {events} WHERE notification_id = ANY(%(positions)s::bigint[]) ORDER BY notification_id"
# The log past the read model: its rows of the campaign's stream or of one of its leads' enrollments,
# each row's lead looked up by its key (a correlated lookup: as EXISTS, PostgreSQL hashed every lead
# of the campaign first, 100,000 of them, for a tail of a few rows).
IN_THE_TAIL = """SELECT {columns} FROM {events} AS event
    WHERE notification_id > %(after)s
      AND (originator_id = %(campaign)s
           OR (SELECT lead.campaign_id FROM campaign_leads AS lead
               WHERE lead.enrollment_id = event.originator_id) = %(campaign)s::uuid)
    ORDER BY notification_id LIMIT %(limit)s"""
IN_THE_STREAMS = """SELECT {columns} FROM {events}
    WHERE originator_id = ANY(ARRAY(SELECT enrollment_id FROM campaign_leads
                                    WHERE campaign_id = %(campaign)s) || %(campaign)s::uuid)
      AND notification_id > %(after)s
    ORDER BY notification_id LIMIT %(limit)s"""


def campaign_events(
    store: Application[UUID], db: Database, campaign_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the campaign's events as JSON documents; the caller has checked the campaign is
    the brand's. InvalidCursor for a cursor not handed out."""
    rows = _rows(store, db, campaign_id, position_after(cursor), limit + 1)
    rows, next_cursor = page_by_position(rows, limit)
    events = [to_event(store, row) for row in rows]
    erased = erased_keys(db, [row["state"] for row in rows])
    return [
        event_to_json(row["position"], event, erased) for row, event in zip(rows, events, strict=True)
    ], next_cursor


def _rows(
    store: Application[UUID], db: Database, campaign_id: UUID, after: int, wanted: int
) -> list[dict[str, Any]]:
    """The events-table rows of the campaign's first `wanted` events after log position `after`."""
    position, parked, positions = positions_after(db, campaign_id, after, wanted)
    head = store.recorder.max_notification_id() or 0
    params = {"campaign": campaign_id, "after": after, "limit": wanted}
    if parked or head - position > MAX_TAIL:
        return db.fetch_all(_query(store, IN_THE_STREAMS), params)
    rows = db.fetch_all(_query(store, BY_POSITION), {"positions": positions}) if positions else []
    if len(rows) < wanted and head > max(after, position):
        params |= {"after": max(after, position), "limit": wanted - len(rows)}
        rows += db.fetch_all(_query(store, IN_THE_TAIL), params)
    return rows


def _query(store: Application[UUID], text: str) -> sql.Composed:
    return sql.SQL(text).format(events=events_table(store), columns=sql.SQL(COLUMNS))
