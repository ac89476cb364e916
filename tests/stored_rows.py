"""Stored event rows edited by hand, as a person with SQL access would tamper with them: the JSON of
a state changed and written back the way it was stored (compacted or not: storage/compact_states.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from storage.compact_states import expanded, stored_like


def edit_states(
    conn: psycopg.Connection[Any],
    where: str,
    params: Sequence[Any],
    old: bytes,
    new: bytes,
    *,
    first: bool = False,
) -> list[int]:
    """Replace `old` by `new` in the JSON of the event rows that `where` picks and whose JSON holds
    `old` (only the first in log order with `first`); their log positions."""
    rows = conn.execute(
        f"SELECT notification_id, state FROM campaigns_events WHERE {where} ORDER BY notification_id", params
    ).fetchall()
    edited = []
    for position, stored in rows:
        state = expanded(bytes(stored))
        if old not in state:
            continue
        changed = state.replace(old, new)
        conn.execute(
            "UPDATE campaigns_events SET state = %s WHERE notification_id = %s",
            (stored_like(bytes(stored), changed), position),
        )
        edited.append(position)
        if first:
            break
    return edited
