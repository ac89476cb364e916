"""Reading the event store's notification log from a position, optionally only some event classes.

The PostgreSQL recorder commits notifications in id order (a table lock per insert), so every id
up to the current head is committed: a filtered read may move its position up to the head even
when no event of interest lies in between, and nothing it skipped can still appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic


def read_log(
    app: Application, after: int, limit: int, classes: Sequence[type] = ()
) -> tuple[list[tuple[int, Any]], int]:
    """Up to `limit` (position, event) pairs after `after`, and the position read through."""
    recorder = app.recorder
    if not classes:
        notes = recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [(n.id, app.mapper.to_domain_event(n)) for n in notes], (notes[-1].id if notes else after)
    head = recorder.max_notification_id() or 0
    if head <= after:
        return [], after
    topics = [get_topic(cls) for cls in classes]
    notes = recorder.select_notifications(after, limit, stop=head, topics=topics, inclusive_of_start=False)
    through = notes[-1].id if len(notes) == limit else head
    return [(n.id, app.mapper.to_domain_event(n)) for n in notes], through
