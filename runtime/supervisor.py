"""The supervisor of a process's background work: runs each task a role hands it on a thread of its
own (a periodic pass, a loop that runs until told to stop, or a child process it starts again
whenever it dies), watches the embedded PostgreSQL, remembers why the work gave up when it could not
go on, and stops everything in bounded time. It knows nothing of what the tasks do: the roles
(runtime/roles.py) say that. A shutdown must work while PostgreSQL or Kafka is away, so the threads
and the pool closes that hang on a dead server are left behind (as daemon threads) and named in the
log, and a SIGTERM is obeyed within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from consumers.background import run_periodically
from runtime.child_processes import ChildProcess
from runtime.database_watchdog import watch_embedded_postgres
from runtime.embedded_postgres import EmbeddedPostgres

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """`work` in passes: again at once while it reports progress, else after `idle` seconds (or
    the dev clock's `nap`, which ends early when time is moved)."""

    name: str
    work: Callable[[], int]
    idle: float
    nap: Callable[[float], None] | None = None


@dataclass(frozen=True)
class Loop:
    """`run` until the stop event it is given is set (a channel worker)."""

    name: str
    run: Callable[[threading.Event], None]


@dataclass(frozen=True)
class Child:
    """A child process running `kind` (a channel, or the projector: runtime/child_processes.py);
    with `demand`, only while that says there is work, stopped after `idle_after` seconds without."""

    name: str
    kind: str
    environment: Mapping[str, str]
    demand: Callable[[bool], bool] | None = None
    idle_after: float = 300.0


Task = Periodic | Loop | Child


class Supervisor:
    """Runs tasks on threads until `stop`; counts the periodic tasks' passes (tests wait on them)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.children: list[ChildProcess] = []
        self.fatal: str | None = None  # why the work stopped on its own (serve exits non-zero with it)
        # Passes begun and passes completed per periodic task (one thread per name writes each).
        self.begun: Counter[str] = Counter()
        self.passes: Counter[str] = Counter()

    def run(self, task: Task) -> None:
        if isinstance(task, Periodic):
            self.spawn(task.name, self._counted(task))
        elif isinstance(task, Loop):
            self.spawn(task.name, partial(task.run, self.stop))
        else:
            child = ChildProcess(task.kind, task.environment, self.stop, task.demand, task.idle_after)
            self.children.append(child)
            self.spawn(task.name, child.supervise)

    def spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def watch_database(self, server: EmbeddedPostgres, give_up_after: float) -> None:
        """Start the embedded server again when it dies; give up after `give_up_after` seconds."""
        watch = partial(watch_embedded_postgres, server, self.stop, self.give_up, give_up_after)
        self.spawn("database-watchdog", watch)

    def give_up(self, reason: str) -> None:
        log.critical("stopping: %s", reason)
        self.fatal = reason
        self.stop.set()

    def alive(self) -> bool:
        """Every thread and child process is running (or resting for want of work) and nothing
        has given up."""
        return (
            all(thread.is_alive() for thread in self.threads)
            and all(child.healthy() for child in self.children)
            and self.fatal is None
        )

    def close(self, close_connections: Callable[[], None], timeout: float) -> None:
        """Stop the tasks, then `close_connections`, within about `timeout` seconds."""
        self.stop.set()
        stop_within(self.threads, close_connections, timeout)

    def _counted(self, task: Periodic) -> Callable[[], None]:
        def counted() -> int:
            self.begun[task.name] += 1
            return task.work()

        def passed() -> None:
            self.passes[task.name] += 1

        return partial(run_periodically, task.name, counted, self.stop, task.idle, task.nap, passed)


def stop_within(
    threads: Sequence[threading.Thread], close_connections: Callable[[], None], timeout: float
) -> None:
    """Join the (already told to stop) threads for 60% of `timeout`, then close the connections in
    what is left (at least 1 s); whatever still hangs is left behind and named in the log."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - 0.4 * timeout - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        log.warning("roles still busy at shutdown, left behind: %s", ", ".join(stuck))
    closing = threading.Thread(target=close_connections, name="close-connections", daemon=True)
    closing.start()
    closing.join(timeout=max(1.0, deadline - time.monotonic()))
    if closing.is_alive():
        log.warning("connections still closing at shutdown; left behind")
