"""A campaign's history as its events: the campaign's own and its enrollments', in log order.

Read from the event store's table, not from a read model of copies: the enrollments are found
through the leads read model (one indexed lookup), their events in the events table, and each
row is decoded by the application (so old shapes are upcast) and rendered by the one event-to-JSON
function. No event carries a secret: sender credentials live only, encrypted, in sender_accounts.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from psycopg import sql

from storage.database import Database
from storage.event_json import event_to_json
from storage.event_log import erased_keys, events_table, to_event
from storage.paging import page_by_position, position_after


def campaign_events(
    store: Application[UUID], db: Database, campaign_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the campaign's events as JSON documents; the caller has checked the campaign is
    the brand's. InvalidCursor for a cursor not handed out."""
    query = sql.SQL(
        """SELECT notification_id AS position, originator_id, originator_version, topic, state
           FROM {events}
           WHERE originator_id = ANY(ARRAY(SELECT enrollment_id FROM campaign_leads
                                           WHERE campaign_id = %(campaign)s) || %(campaign)s::uuid)
             AND notification_id > %(after)s
           ORDER BY notification_id LIMIT %(limit)s"""
    ).format(events=events_table(store))
    rows = db.fetch_all(query, {"campaign": campaign_id, "after": position_after(cursor), "limit": limit + 1})
    rows, next_cursor = page_by_position(rows, limit)
    events = [to_event(store, row) for row in rows]
    erased = erased_keys(db, [row["state"] for row in rows])
    return [
        event_to_json(row["position"], event, erased) for row, event in zip(rows, events, strict=True)
    ], next_cursor
