"""Follows the notification log and applies events to read models, exactly once per projection.

A batch of events and the projection's new position are written in one transaction, so a crash
replays nothing twice and loses nothing. An event the projection cannot apply is retried a few
times and then parked (storage/parked.py) in that same transaction, so one brand's poison event
never stalls every brand's read model. The runner polls (no LISTEN to die silently); the runtime
calls `run_once` from a supervised loop that logs and retries after an error. Rebuilding from zero
while the live tables keep serving is projections/shadow_rebuild.py's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application

from storage import containment, parked
from storage.database import Database
from storage.event_log import brand_of, read_log, read_one


class ReadModel(Protocol):
    """A read model: its name, the tables it owns, the events it applies and how.

    `apply` and `reset` name the tables unqualified: a rebuild (projections/shadow_rebuild.py)
    runs them with `search_path` pointed at a schema of copies, then swaps the copies in.
    """

    name: str

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables it owns (read-only: a class's own tuple fits), unqualified."""

    @property
    def events(self) -> tuple[type, ...]:
        """The event classes it applies; the runner reads only those (read-only: a class's own tuple fits)."""

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        """Apply (notification id, domain event) pairs inside the caller's transaction."""

    def reset(self, cur: Any) -> None:
        """Empty the read model before a rebuild."""


def position_of(db: Database, name: str) -> int:
    row = db.fetch_one("SELECT position FROM projection_positions WHERE projection = %s", (name,))
    return row["position"] if row else 0


class ReadModelRunner:
    """Runs one projection over the application's notification log."""

    def __init__(
        self,
        store: Application[UUID],
        db: Database,
        projection: ReadModel,
        batch_size: int = 1000,
    ) -> None:
        self.store, self.db, self.projection, self.batch_size = store, db, projection, batch_size
        self.classes = frozenset(projection.events)

    def run_once(self) -> int:
        """Apply the next batch; return how many events it applied (at least 1 if it moved on)."""
        moved = self._advance(
            lambda start: read_log(self.store, start, self.batch_size, self.projection.events)
        )
        if moved is None:
            return self.retry_parked()  # idle: the moment to apply what an operator handed back
        return moved

    def apply_read(self, read_after: int, events: list[tuple[int, Any]], through: int) -> int | None:
        """Apply the part of a read another took (every event after `read_after` through `through`
        of a superset of this model's classes) that lies past this model's position; None when
        its position is before `read_after`, so the read does not cover it."""
        covered = True

        def mine(start: int) -> tuple[list[tuple[int, Any]], int]:
            nonlocal covered
            if start < read_after:
                covered = False
                return [], start
            wanted = [item for item in events if item[0] > start and type(item[1]) in self.classes]
            return wanted, max(start, through)

        moved = self._advance(mine)
        if not covered:
            return None
        return moved or 0

    def _advance(self, read: Callable[[int], tuple[list[tuple[int, Any]], int]]) -> int | None:
        """In one transaction: this model's position, the events `read` gives after it, applied
        (a poison event parked), and the position they reach; None if it did not move."""
        with self.db.transaction() as cur:
            # One runner at a time per projection (a rebuild and a live runner, or two processes).
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.projection.name,))
            cur.execute(
                "SELECT position FROM projection_positions WHERE projection = %s", (self.projection.name,)
            )
            row = cur.fetchone()
            start = row["position"] if row else 0
            events, through = read(start)
            if through == start:
                return None
            if events:
                containment.contain(
                    events,
                    lambda batch: self._apply(cur, batch),
                    lambda item, error, tries: parked.park(
                        cur, self.follower, str(item[0]), brand_of(self.store, item[1]), error, tries
                    ),
                )
            cur.execute(
                """INSERT INTO projection_positions (projection, position) VALUES (%s, %s)
                   ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position""",
                (self.projection.name, through),
            )
        return max(len(events), 1)

    @property
    def follower(self) -> str:
        return f"projection:{self.projection.name}"

    def _apply(self, cur: Any, events: Sequence[tuple[int, Any]]) -> None:
        with cur.connection.transaction():  # a savepoint: a failed batch leaves nothing behind
            self.projection.apply(cur, list(events))

    def retry_parked(self) -> int:
        """Apply again the events an operator handed back with `campaign-service parked retry`."""

        def reapply(position: int) -> None:
            with self.db.transaction() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.projection.name,))
                self.projection.apply(cur, [read_one(self.store, position)])

        return parked.retry_parked(self.db, self.follower, reapply)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        total = 0
        while applied := self.run_once():
            total += applied
            if progress:
                progress(
                    position_of(self.db, self.projection.name), self.store.recorder.max_notification_id() or 0
                )
        return total


def wait_for_position(db: Database, names: list[str], position: int | None, timeout: float = 5.0) -> bool:
    """Read-your-writes: wait until every named projection has applied `position`."""
    if position is None:
        return True
    deadline = time.monotonic() + timeout
    while True:
        rows = db.fetch_all("SELECT position FROM projection_positions WHERE projection = ANY(%s)", (names,))
        if len(rows) == len(names) and all(row["position"] >= position for row in rows):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def positions(db: Database) -> dict[str, int]:
    """How far each read model has applied the log, by read model (for /metrics)."""
    rows = db.fetch_all("SELECT projection, position FROM projection_positions")
    return {row["projection"]: row["position"] for row in rows}
