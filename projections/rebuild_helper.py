"""A second process that fills some of a replay's copies while this one fills the others.

A replay's client is busy in Python (decoding the log, each read model's `apply`) and waits on
PostgreSQL in turns; one process uses one core. `helping` starts a helper process (spawned: a
fresh interpreter, so no connection or thread of this one is inherited) that opens the event
store and the database with the caller's `StoreOpener`, reads the log itself and fills the copies
it was handed, up to the log's head, with their other indexes (projections/shadow_rebuild.py's
`fill`, the very code this process runs for its own share). It hands back the log position each
copy reached; the swaps stay this process's, one transaction per read model as without a helper.
A failure in the helper is raised here; a failure here stops the helper (its transaction rolls
back, and the caller drops the copies).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from projections.shadow_tables import Shadow
from storage.database import Database

# Opens the event store and the database in the helper process: a module-level function (or a
# functools.partial of one) with plain arguments, since it is pickled into a fresh interpreter.
StoreOpener = Callable[[], tuple[Application[UUID], Database]]
Fill = Callable[[Application[UUID], Database, list[Shadow], int], None]


class HelperFailed(RuntimeError):
    """The helper process failed, or died, before it filled its copies."""


class Helper:
    """The helper process's side of a replay, as the replaying process sees it."""

    def __init__(self, process: Any, answers: Connection | None, shadows: Sequence[Shadow]) -> None:
        self.process, self.answers, self.shadows = process, answers, list(shadows)

    def wait(self) -> None:
        """Wait for the helper to fill its copies; set each one's position to what it reached."""
        if self.answers is None:
            return
        try:
            outcome, detail = self.answers.recv()
        except EOFError:
            raise HelperFailed(f"the replay's helper process ended with {self.process.exitcode}") from None
        if outcome != "filled":
            raise HelperFailed(f"the replay's helper process failed:\n{detail}")
        for shadow in self.shadows:
            shadow.position = detail[shadow.model.name]


@contextmanager
def helping(
    opener: StoreOpener | None, fill: Fill, shadows: Sequence[Shadow], batch_size: int
) -> Iterator[Helper]:
    """A helper process filling `shadows` (none without an opener or shadows) while the block runs;
    stopped if it is still running when the block ends (the block failed)."""
    if opener is None or not shadows:
        yield Helper(None, None, [])
        return
    context = multiprocessing.get_context("spawn")
    answers, reply = context.Pipe(duplex=False)
    process = context.Process(
        target=_fill_and_answer,
        args=(opener, fill, list(shadows), batch_size, reply),
        name="replay-helper",
        daemon=True,
    )
    process.start()
    reply.close()  # the helper holds its end: when it dies, recv() ends instead of waiting on
    try:
        yield Helper(process, answers, shadows)
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        answers.close()


def _fill_and_answer(
    opener: StoreOpener, fill: Fill, shadows: list[Shadow], batch_size: int, reply: Connection
) -> None:
    """The helper process: fill the copies, answer with their positions or the failure's text."""
    try:
        store, db = opener()
        try:
            fill(store, db, shadows, batch_size)
        finally:
            store.close()
            db.close()
        reply.send(("filled", {shadow.model.name: shadow.position for shadow in shadows}))
    except BaseException:
        reply.send(("failed", traceback.format_exc()))
    finally:
        reply.close()
