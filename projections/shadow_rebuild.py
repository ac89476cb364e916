"""Rebuilding read models from zero while the service keeps answering from the live ones.

Each read model is rebuilt into a schema of its own (`rebuild_<name>`) holding empty copies of its
live tables (same columns, defaults and keys; the other indexes are built once the rows are in,
which is faster than keeping them up to date row by row). One pass over the notification log
decodes each event once and hands it to every read model being rebuilt, with the transaction's
`search_path` pointed at that model's schema, so its ordinary `apply` writes the copies. Then,
per read model, one short transaction takes its advisory lock (the live runner waits between two
batches), applies the tail of the log that arrived meanwhile, moves the live tables out and the
copies in, and moves the model's position: readers see the old rows until that commit and the
new ones after it, never an empty read model. A read model's tables must not be the target of a
foreign key or a view (the swap would take them along); its SQL names them unqualified. The
copies themselves are projections/shadow_tables.py's.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from psycopg.sql import SQL, Identifier

from projections.rebuild_helper import StoreOpener, helping
from projections.runner import ReadModel
from projections.shadow_tables import Shadow, build_other_indexes, copy_tables, swap_in
from storage import containment, parked
from storage.database import Database
from storage.event_log import brand_of, read_log


def _apply(
    store: Application[UUID], cur: Any, shadow: Shadow, events: list[tuple[int, Any]], contained: bool
) -> None:
    cur.execute(
        SQL("SET LOCAL search_path TO {}, {}").format(
            Identifier(shadow.schema), Identifier(shadow.live_schema)
        )
    )
    try:
        if not contained:
            shadow.model.apply(cur, events)
            return
        containment.contain(
            events,
            lambda batch: _savepoint(cur, shadow.model, batch),
            lambda item, error, tries: parked.park(
                cur, f"rebuild:{shadow.model.name}", str(item[0]), brand_of(store, item[1]), error, tries
            ),
        )
    finally:
        cur.execute(SQL("SET LOCAL search_path TO {}").format(Identifier(shadow.live_schema)))


def _savepoint(cur: Any, model: ReadModel, batch: Sequence[tuple[int, Any]]) -> None:
    with cur.connection.transaction():  # a failed batch leaves nothing behind
        model.apply(cur, list(batch))


def _catch_up(
    store: Application[UUID], cur: Any, shadows: list[Shadow], batch_size: int, contained: bool = True
) -> int:
    """Apply the next batch of the log to every shadow; how many events that read (0 at the head).
    `contained`: each shadow's share in a savepoint, a failing event parked (as the live runner
    does); else straight, the caller rolling back the whole batch on any failure."""
    start = min(shadow.position for shadow in shadows)
    classes = tuple({cls for shadow in shadows for cls in shadow.model.events})
    events, through = read_log(store, start, batch_size, classes)
    # Each event to the shadows that read its class and have not reached it: the shadows are looked
    # up once per class, not with one isinstance per event and shadow (seven read models: seven checks an event).
    readers: dict[type, list[int]] = {}
    mine: list[list[tuple[int, Any]]] = [[] for _ in shadows]
    for position, event in events:
        kind = type(event)
        chosen = readers.get(kind)
        if chosen is None:
            chosen = readers[kind] = [i for i, s in enumerate(shadows) if issubclass(kind, s.model.events)]
        for i in chosen:
            if position > shadows[i].position:
                mine[i].append((position, event))
    for shadow, theirs in zip(shadows, mine, strict=True):
        if theirs:
            _apply(store, cur, shadow, theirs, contained)
        shadow.position = max(shadow.position, through)
    return len(events) if through > start else 0


def rebuild(
    store: Application[UUID],
    db: Database,
    models: Sequence[ReadModel],
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    helper: StoreOpener | None = None,
) -> dict[str, int]:
    """Rebuild `models` from zero and swap them in; each one's log position it was rebuilt through.

    With `helper` (how a fresh process opens the store), every other model is filled by a second
    process meanwhile (projections/rebuild_helper.py); `progress` follows this process's share.
    RebuildRunning when another replay of one of them is under way; on any failure the copies are
    dropped and the live read models are left as they were."""
    with _one_rebuild_at_a_time(db, models):
        shadows = [copy_tables(db, model) for model in models]
        mine, theirs = (shadows[0::2], shadows[1::2]) if helper is not None else (shadows, [])
        try:
            with helping(helper, fill, theirs, batch_size) as helped:
                fill(store, db, mine, batch_size, progress)
                helped.wait()
            return {shadow.model.name: _swap(store, db, shadow, batch_size) for shadow in shadows}
        finally:
            with db.transaction() as cur:
                for shadow in shadows:  # gone after a swap; what a failure left behind otherwise
                    cur.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(shadow.schema)))


def fill(
    store: Application[UUID],
    db: Database,
    shadows: list[Shadow],
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Apply the log to the copies up to its head, then build their other indexes."""
    if not shadows:
        return
    with _cycle_collector_paused():
        while True:
            head = store.recorder.max_notification_id() or 0
            read = _next_batch(store, db, shadows, batch_size)
            if progress:
                progress(min(s.position for s in shadows), head)
            if read == 0 and min(s.position for s in shadows) >= head:
                break
    for shadow in shadows:
        with db.transaction() as cur:
            build_other_indexes(cur, shadow)


def _next_batch(store: Application[UUID], db: Database, shadows: list[Shadow], batch_size: int) -> int:
    """Apply the log's next batch to the copies, in one transaction; how many events it read.

    First in one pipeline, with no savepoint per read model: the statements stream to PostgreSQL,
    which writes one read model's rows while this process reads and makes the next one's, and
    nobody waits for an answer until the commit (a savepoint's end is such a wait). A batch in
    which anything failed is rolled back and applied again as the live runner applies it, each
    read model's share in a savepoint and a failing event parked (storage/containment.py)."""
    reached = [shadow.position for shadow in shadows]
    try:
        with db.transaction() as cur, cur.connection.pipeline():
            return _catch_up(store, cur, shadows, batch_size, contained=False)
    except Exception:
        for shadow, position in zip(shadows, reached, strict=True):
            shadow.position = position
    with db.transaction() as cur:
        return _catch_up(store, cur, shadows, batch_size)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the log is applied, then one collection. Each batch's
    thousands of decoded events live through the batch, so the collector kept promoting them and
    walking the whole heap again: a quarter of the replay's CPU (decision record 34). What a batch
    makes has no cycles and is freed by its reference counts as the next batch comes; peak memory
    over 155,573 events was the same (88 MB) with the collector off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


class RebuildRunning(RuntimeError):
    """Another replay of the same read model is under way."""


@contextmanager
def _one_rebuild_at_a_time(db: Database, models: Sequence[ReadModel]) -> Iterator[None]:
    """Session locks, one per read model, held on a connection of their own for the whole rebuild
    (two rebuilds would drop each other's copies); PostgreSQL releases them if this process dies."""
    with psycopg.connect(db.url, autocommit=True) as conn:
        for model in models:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (f"rebuild:{model.name}",)
            ).fetchone()
            if not (row and row[0]):
                raise RebuildRunning(f"a replay of {model.name} is already running")
        yield


SWAP_LOCK_TIMEOUT = "3s"  # how long readers may queue behind the swap before it steps back
SWAP_ATTEMPTS = 10


def _swap(store: Application[UUID], db: Database, shadow: Shadow, batch_size: int) -> int:
    """Swap the copies in; a swap that waits too long for a reader's lock steps back and tries again
    (readers queue behind a waiting swap, so it must not wait long)."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        position = shadow.position
        try:
            return _swap_once(store, db, shadow, batch_size)
        except psycopg.errors.LockNotAvailable:
            shadow.position = position  # the tail it applied was rolled back with the rest
            if attempt == SWAP_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _swap_once(store: Application[UUID], db: Database, shadow: Shadow, batch_size: int) -> int:
    """In one transaction: lock out the live runner, apply the tail, swap the tables and positions."""
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (shadow.model.name,))
        cur.execute(SQL("SET LOCAL lock_timeout = {}").format(SWAP_LOCK_TIMEOUT))
        while _catch_up(store, cur, [shadow], batch_size):
            pass
        swap_in(cur, shadow)
        cur.execute(
            """INSERT INTO projection_positions (projection, position) VALUES (%s, %s)
               ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position""",
            (shadow.model.name, shadow.position),
        )
        # The rebuild's parked items replace the live runner's: those events were applied again.
        cur.execute("DELETE FROM parked_items WHERE follower = %s", (shadow.follower,))
        cur.execute(
            "UPDATE parked_items SET follower = %s WHERE follower = %s",
            (shadow.follower, f"rebuild:{shadow.model.name}"),
        )
    return shadow.position
