"""A brand's aggregates in the raw event store, read for an audit: found by the brand their first
event names, then read a chunk at a time with each aggregate's hash chain checked against its stored
rows (storage/event_chain.py), and only the events of the topics the audit asks for decoded, in log
order. Both audits (credits and consent) read the brand's history this way, never from a read model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Composed

from storage.compact_states import owner_sql
from storage.event_chain import ChainBreak, first_break
from storage.stored_events import aggregate_rows

CHUNK = 2_000  # aggregates verified and decoded together


def owned(conn: psycopg.Connection[Any], table: Composed, topic: str, brand_id: UUID) -> list[UUID]:
    """The aggregates whose first event has this topic and names this brand."""
    rows = conn.execute(
        SQL(
            f"""SELECT originator_id FROM {{}} WHERE topic = %s AND originator_version = 1
                  AND CASE WHEN originator_version = 1 THEN {owner_sql("state", "brand_id")} END = %s"""
        ).format(table),
        (topic, brand_id.hex),
    ).fetchall()
    return [row[0] for row in rows]


def chunks(ids: list[UUID]) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@dataclass
class BrandHistory:
    """What an audit read: the events of the topics it asked for, in log order (position, event),
    or the first break of a hash chain, which stops the reading."""

    events: list[tuple[int, Any]] = field(default_factory=list)
    chain_break: ChainBreak | None = None
    aggregates: int = 0  # read whole; on a break, those of the chunk that broke
    stored_events: int = 0  # rows read and verified
    ledger_found: bool = False


def verified_history(
    store: Application[UUID],
    conn: psycopg.Connection[Any],
    table: Composed,
    ledger_id: UUID,
    others: list[UUID],
    topics: set[str],
) -> BrandHistory:
    """The brand's ledger and `others`, each chain verified, with the events of `topics` decoded."""
    history = BrandHistory()
    for chunk in chunks([ledger_id, *others]):
        rows = aggregate_rows(conn, table, chunk)
        history.chain_break = first_break(rows)
        if history.chain_break is not None:
            history.aggregates = len(chunk)
            return history
        for position, aggregate_id, version, topic, state, _ in rows:
            history.stored_events += 1
            history.ledger_found = history.ledger_found or aggregate_id == ledger_id
            if topic in topics:
                stored = StoredEvent(aggregate_id, version, topic or "", state or b"")
                history.events.append((position or 0, store.mapper.to_domain_event(stored)))
    history.events.sort(key=lambda item: item[0])
    history.aggregates = 1 + len(others)
    return history
