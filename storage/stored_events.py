"""Reading the event store's own table in bounded memory: keyset pages of raw stored rows.

Exports, the credit audit and the benchmarks read years of history; the library's
`select_notifications` would build a domain object per row. These readers page through the
`campaigns_events` table by notification id (each page one short query, so no transaction stays
open for the whole history) and hand back the stored bytes as they are. Rows of the topics named
`ownerless` come with the campaign of their aggregate's first event (an enrollment's
`StepAttempted` carries no campaign of its own), looked up by PostgreSQL in the same query.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Composed, Identifier

from storage.compact_states import owner_sql

T = TypeVar("T")


class StoredRow(NamedTuple):
    position: int
    aggregate_id: str
    version: int
    topic: str
    state: bytes
    owner_campaign: str | None  # hex; only for rows of an `ownerless` topic


def events_table(store: Application[UUID]) -> Composed:
    """The schema-qualified name of the application's events table (PostgreSQL recorder only)."""
    recorder = store.recorder
    if not isinstance(recorder, PostgresAggregateRecorder):
        raise TypeError("the event history is read from the PostgreSQL event store only")
    return SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))


def head_position(conn: psycopg.Connection[Any], table: Composed) -> int:
    row = conn.execute(SQL("SELECT max(notification_id) FROM {}").format(table)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def pages(
    conn: psycopg.Connection[Any],
    table: Composed,
    *,
    after: int = 0,
    through: int,
    topics: Sequence[str] = (),
    ownerless: Sequence[str] = (),
    size: int = 10_000,
) -> Iterator[list[StoredRow]]:
    """Pages of at most `size` rows with `after < position <= through`, in log order, only of
    `topics` when given."""
    statement = SQL(
        f"""SELECT e.notification_id, e.originator_id::text, e.originator_version, e.topic, e.state,
                  CASE WHEN e.topic = ANY(%(ownerless)s) THEN
                      (SELECT {owner_sql("f.state", "campaign_id")}
                         FROM {{table}} f
                        WHERE f.originator_id = e.originator_id AND f.originator_version = 1)
                  END
             FROM {{table}} e
            WHERE e.notification_id > %(after)s AND e.notification_id <= %(through)s {{topic_filter}}
            ORDER BY e.notification_id LIMIT %(size)s"""
    ).format(table=table, topic_filter=SQL("AND e.topic = ANY(%(topics)s)") if topics else SQL(""))
    params: dict[str, Any] = {"ownerless": list(ownerless), "topics": list(topics), "size": size}
    while after < through:
        with conn.cursor(binary=True) as cur:
            cur.execute(statement, {**params, "after": after, "through": through})
            page = [StoredRow(*row) for row in cur.fetchall()]
        conn.commit()  # one short transaction per page (a no-op in autocommit): vacuum is not held back
        if not page:
            return
        yield page
        after = page[-1].position


def aggregate_rows(
    conn: psycopg.Connection[Any], table: Composed, aggregate_ids: Sequence[UUID]
) -> list[tuple[int | None, UUID, int, str | None, bytes | None, bytes | None]]:
    """Every stored row of the aggregates, each beside its hash-chain link, in version order:
    (position, aggregate, version, topic, state, chain hash); a link whose row is gone has no
    position, a row that never got a link has no hash."""
    rows = conn.execute(
        SQL(
            """SELECT e.notification_id, coalesce(e.originator_id, c.originator_id),
                      coalesce(e.originator_version, c.originator_version), e.topic, e.state, c.chain_hash
                 FROM (SELECT * FROM {table} WHERE originator_id = ANY(%(ids)s)) e
                 FULL JOIN (SELECT * FROM event_chain WHERE originator_id = ANY(%(ids)s)) c
                   ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version
                ORDER BY 2, 3"""
        ).format(table=table),
        {"ids": list(aggregate_ids)},
    ).fetchall()
    conn.commit()
    return [(r[0], r[1], r[2], r[3], bytes(r[4]) if r[4] is not None else None, r[5]) for r in rows]


def first_event_state(conn: psycopg.Connection[Any], table: Composed, aggregate_id: str) -> bytes | None:
    """The stored state of an aggregate's first event (its creation: brand, campaign)."""
    row = conn.execute(
        SQL("SELECT state FROM {} WHERE originator_id = %s AND originator_version = 1").format(table),
        (aggregate_id,),
    ).fetchone()
    conn.commit()
    return bytes(row[0]) if row and row[0] is not None else None


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, fetched by a thread up to `depth` ahead: PostgreSQL produces the next page while
    the caller works on this one (the driver releases the GIL while it waits). Memory stays bounded
    by `depth` pages; an error in the thread is raised here."""
    done = object()
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ahead.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(done)
        except BaseException as error:  # handed to the consumer, which raises it
            ahead.put(error)

    thread = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
