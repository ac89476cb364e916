"""The nemesis: faults at random moments of a schedule, drawn from `random.Random(seed)` before the
schedule starts, so a seed names the same faults in the same order (their moments in real time
shift with the machine's load). Four kinds: `kill` (SIGKILL a role's process; the restart policy
starts it again), `pause` (SIGSTOP a role, SIGCONT after a short random pause), `postgres` (stop
the server, start it again on its port) and `kafka` (stop the broker, resume it with its topics
and offsets). Every kind comes at least once in a schedule; one fault at a time; each is logged
with its moment and what it hit. `heal` undoes whatever is still broken."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from soak.role_processes import ROLES, RoleProcesses
from soak.servers import KafkaBroker, Postgres

KINDS = ("kill", "pause", "postgres", "kafka")
EXTRA_WEIGHTS = {"kill": 3, "pause": 3, "postgres": 1, "kafka": 1}


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the faulty phase
    kind: str
    target: str  # a role's name, or the server's
    hold: float  # seconds paused, or down


def plan(rng: random.Random, seconds: float, extra: tuple[int, int] = (2, 5)) -> list[Fault]:
    """Every kind once, and a few more drawn by weight, at random moments of `seconds`."""
    kinds = list(KINDS)
    kinds += rng.choices(list(EXTRA_WEIGHTS), weights=list(EXTRA_WEIGHTS.values()), k=rng.randint(*extra))
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(0, seconds) for _ in kinds)
    faults = []
    for at, kind in zip(moments, kinds, strict=True):
        target = rng.choice(list(ROLES)) if kind in ("kill", "pause") else kind
        hold = rng.uniform(0.3, 3.0) if kind == "pause" else rng.uniform(0.5, 3.0)
        faults.append(Fault(round(at, 2), kind, target, round(hold, 2)))
    return faults


class Nemesis:
    """Injects a planned schedule of faults in a thread of its own; `log` says what it did."""

    def __init__(
        self,
        faults: list[Fault],
        roles: RoleProcesses,
        postgres: Postgres,
        kafka: KafkaBroker,
        say: Callable[[str], None],
    ) -> None:
        self.faults, self.roles, self.postgres, self.kafka, self.say = faults, roles, postgres, kafka, say
        self.injected: Counter[str] = Counter()
        self.log: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        for fault in self.faults:
            if self._stop.wait(max(0.0, self._started + fault.at - time.monotonic())):
                return
            began = time.monotonic() - self._started
            try:
                done = self._inject(fault)
            except Exception as failed:  # a fault that could not be injected is reported, not hidden
                done = f"could not be injected: {failed}"
            line = f"  t={began:6.1f}s {fault.kind:8} {fault.target:16} {done}"
            self.log.append(line)
            self.say(line)

    def _inject(self, fault: Fault) -> str:
        if fault.kind == "kill":
            if not self.roles.signal(fault.target, signal.SIGKILL):
                return "not running at that moment: nothing injected"
            self.injected["kill"] += 1
            return "SIGKILL"
        if fault.kind == "pause":
            if not self.roles.signal(fault.target, signal.SIGSTOP):
                return "not running at that moment: nothing injected"
            self.injected["pause"] += 1
            self._stop.wait(fault.hold)
            self.roles.signal(fault.target, signal.SIGCONT)
            return f"SIGSTOP, SIGCONT after {fault.hold:.1f} s"
        started = time.monotonic()
        if fault.kind == "postgres":
            self.postgres.stop()
            self.injected["postgres"] += 1
            self._stop.wait(fault.hold)
            self.postgres.start()
        else:
            self.kafka.stop()
            self.injected["kafka"] += 1
            self._stop.wait(fault.hold)
            self.kafka.resume()
        return f"stopped, started again: down {time.monotonic() - started:.1f} s"

    def wait(self, timeout: float) -> None:
        """Returns once every planned fault was injected, or after `timeout` seconds."""
        self._thread.join(timeout)

    def heal(self) -> None:
        """Stops injecting (a fault under way finishes) and brings everything back up."""
        self._stop.set()
        self._thread.join(timeout=240)
        self.roles.resume_all()
        if not self.postgres.running():
            self.postgres.start()
        if not self.kafka.up:
            self.kafka.resume()
