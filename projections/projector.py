"""The projector: one read of the notification log per pass, applied to every read model.

The read models follow the same log, mostly the same events; reading and decoding it once for all
of them, instead of once each, was most of what keeping them current cost. Each read model still
applies its share in a transaction of its own, with its own position, lock and parking
(projections/runner.py), so one that falls behind or fails holds the others back by one read at
most: a read model more than a read behind the others (a rebuild moved it) or that failed reads on
its own, several reads a pass, a failing one after a growing pause, until it is level again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.application import Application

from projections.runner import ReadModelRunner
from storage.containment import describe, pause_after, transient
from storage.database import Database
from storage.event_log import read_log

log = logging.getLogger(__name__)

# Reads a read model that is behind takes alone per pass: more than the one read the others take,
# so that it catches up while the log keeps growing.
CATCH_UP_READS = 4


class Projector:
    def __init__(
        self,
        store: Application[UUID],
        db: Database,
        runners: Sequence[ReadModelRunner],
        batch_size: int,
        monotonic: Callable[[], float] = time.monotonic,  # when a failing read model is tried again
    ) -> None:
        self.store, self.db, self.runners, self.batch_size = store, db, list(runners), batch_size
        self.monotonic = monotonic
        self.classes = tuple({cls for runner in runners for cls in runner.projection.events})
        self.apart: dict[str, int] = {}  # read models reading on their own -> failures in a row
        self.not_before: dict[str, float] = {}  # a failing read model's next try (monotonic)

    def run_once(self) -> int:
        """Apply the next slice of the log to every read model; how many events were applied."""
        together = [r for r in self.runners if r.projection.name not in self.apart]
        applied = self._together(together) if together else 0
        for runner in self.runners:
            if runner.projection.name in self.apart:
                applied += self._alone(runner)
        return applied

    def _together(self, runners: list[ReadModelRunner]) -> int:
        at = positions(self.db, [r.projection.name for r in runners])
        lead = max(at.values())
        for runner in runners:  # more than a read behind (a rebuild moved it): it catches up alone
            if at[runner.projection.name] < lead - self.batch_size:
                self.apart[runner.projection.name] = 0
        runners = [r for r in runners if r.projection.name not in self.apart]
        start = min(at[r.projection.name] for r in runners)
        events, through = read_log(self.store, start, self.batch_size, self.classes)
        if through == start:
            return sum(runner.retry_parked() for runner in runners)  # idle: what operators handed back
        applied = 0
        for runner in runners:
            try:
                moved = runner.apply_read(start, events, through)
            except Exception as error:
                self._failed(runner, error)
                continue
            if moved is None:  # moved back since its position was read: it catches up alone
                self.apart[runner.projection.name] = 0
            else:
                applied += moved
        return max(applied, 1)

    def _alone(self, runner: ReadModelRunner) -> int:
        name = runner.projection.name
        if self.monotonic() < self.not_before.get(name, 0.0):
            return 0
        moved = 0
        try:
            for _ in range(CATCH_UP_READS):
                if not (step := runner.run_once()):
                    break
                moved += step
        except Exception as error:
            self._failed(runner, error)
            return moved
        if self.apart[name]:
            log.info("%s is running again after %d failed passes", runner.follower, self.apart[name])
        others = [r.projection.name for r in self.runners if r.projection.name not in self.apart]
        level = positions(self.db, [name, *others])
        if not others or level[name] >= max(level[other] for other in others) - self.batch_size:
            del self.apart[name]  # the shared read covers it again
            self.not_before.pop(name, None)
        else:
            self.apart[name] = 0
        return moved

    def _failed(self, runner: ReadModelRunner, error: Exception) -> None:
        name = runner.projection.name
        failures = self.apart.get(name, 0) + 1
        self.apart[name] = failures
        pause = pause_after(failures)
        self.not_before[name] = self.monotonic() + pause
        if transient(error):
            log.warning("%s waits %.1f s: %s", runner.follower, pause, describe(error))
        else:
            log.exception("%s failed; retrying in %.1f s", runner.follower, pause)


def positions(db: Database, names: list[str]) -> dict[str, int]:
    """Each named read model's position (0 before its first pass)."""
    rows = db.fetch_all(
        "SELECT projection, position FROM projection_positions WHERE projection = ANY(%s)", (names,)
    )
    found = {row["projection"]: row["position"] for row in rows}
    return {name: found.get(name, 0) for name in names}
