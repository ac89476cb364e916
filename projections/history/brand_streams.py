"""A brand's aggregates in the raw event store, read for an audit: found by the brand their first
event names, then read a chunk at a time with each aggregate's hash chain checked against its stored
rows (storage/event_chain.py). Both audits (credits and consent) read the brand's history this way,
never from a read model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed

CHUNK = 2_000  # aggregates verified and decoded together


def owned(conn: psycopg.Connection[Any], table: Composed, topic: str, brand_id: UUID) -> list[UUID]:
    """The aggregates whose first event has this topic and names this brand."""
    rows = conn.execute(
        SQL(
            """SELECT originator_id FROM {} WHERE topic = %s AND originator_version = 1
                 AND convert_from(state, 'UTF8')::jsonb #>> '{{brand_id,_data_}}' = %s"""
        ).format(table),
        (topic, brand_id.hex),
    ).fetchall()
    return [row[0] for row in rows]


def chunks(ids: list[UUID]) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
