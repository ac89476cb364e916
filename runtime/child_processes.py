"""The roles `serve` runs as processes of its own: each channel's relay and send worker, and the
projector. Started and watched by `serve`.

One Python process runs one thread at a time, so a channel whose provider is slow still spends
CPU on each of its sends (building the message, the SDK, the answer), and in one process that
time is taken from every other channel. `serve` therefore runs, for each channel, `campaign-service
channel --channel NAME` as a child: its own relay hands that channel's dispatches to its own worker
over an in-process transport, against the same database with the same keys and settings
(`Settings.environment`). The projector, which keeps every read model current, runs as
`campaign-service projector` the same way, so that its work and the enroller's overlap instead of
taking turns. A channel's process runs only while the channel has work: it is started when a
dispatch of that channel lies past its relay's position (consumers/channel_demand.py, asked every
half second) and stopped after CHANNEL_IDLE_SECONDS without any, so an idle `serve`, or one whose
brands never send texts or voicemails, holds no such process. A child that dies is started again
after a pause that doubles up to 30 s; nothing is sent twice by a restart or by a stop for want of
work, since a relay records its position only after the sends are recorded and a step attempted
before is reconciled with its provider, and nothing is applied twice, since a read model records
its position with its rows. A child stops by itself when its parent is gone. Decision records 13,
15 and 30.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0  # seconds before a dead child is started again
STEADY = 60.0  # a child that ran this long before dying starts again after the first pause
GRACE = 2.0  # seconds a child has to stop after SIGTERM before it is killed
LOOK_FOR_WORK = 0.5  # seconds between two questions whether a channel on demand has work


def command(role: str) -> list[str]:
    """The child's command line: `channel --channel NAME` for a channel, else the role's own."""
    args = ["projector"] if role == PROJECTOR else ["channel", "--channel", role]
    return [sys.executable, "-m", "runtime.cli", *args, "--parent", str(os.getpid())]


PROJECTOR = "projector"


class ChildProcess:
    """Runs one role's child process (a channel's, or the projector's) until `stop`, starting it
    again whenever it dies. With `demand` (a channel's: `demand(advance)` says whether it has work,
    consumers/channel_demand.py) the process runs only while there is work: it is started when
    work appears and stopped after `idle_after` seconds without any."""

    def __init__(
        self,
        role: str,
        environment: Mapping[str, str],
        stop: threading.Event,
        demand: Callable[[bool], bool] | None = None,
        idle_after: float = 300.0,
    ) -> None:
        self.role, self.environment, self.stop = role, dict(environment), stop
        self.demand, self.idle_after = demand, idle_after
        self.process: subprocess.Popen[bytes] | None = None
        self.resting = False  # stopped, or not yet started, for want of work: nothing is wrong
        self._failing = False  # the last question to `demand` failed (logged once per streak)

    @property
    def label(self) -> str:
        return self.role if self.role == PROJECTOR else f"channel {self.role}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        """Its process runs, or it has none because it has no work (not because it died)."""
        return self.running() or self.resting

    def supervise(self) -> None:
        pause = FIRST_PAUSE
        while not self.stop.is_set():
            if self.demand is not None and not self._work_appeared():
                continue
            started = time.monotonic()
            # A session of its own: a Ctrl-C at the terminal reaches serve alone, which stops its
            # children in order, instead of each child at once (and serve restarting them).
            self.process = subprocess.Popen(command(self.role), env=self.environment, start_new_session=True)
            self.resting = False
            log.info("%s: running in process %d", self.label, self.process.pid)
            ended = self._watch(self.process)
            if ended == "stopped":
                return
            if ended == "idle":
                pause = FIRST_PAUSE
                continue
            ran = time.monotonic() - started
            pause = FIRST_PAUSE if ran > STEADY else pause
            log.warning(
                "%s: its process %d exited with %s after %.1f s; starting it again in %.0f s",
                self.label,
                self.process.pid,
                self.process.returncode,
                ran,
                pause,
            )
            self.stop.wait(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def _work_appeared(self) -> bool:
        """Whether the channel has work; if not, rest a moment (the caller asks again)."""
        if self._has_work(advance=True, otherwise=False):
            return True
        self.resting = True
        self.stop.wait(LOOK_FOR_WORK)
        return False

    def _watch(self, process: subprocess.Popen[bytes]) -> str:
        """Until the process dies ("died"), serve stops ("stopped") or, on demand, the channel
        has had no work for `idle_after` seconds ("idle"): the latter two stop the process."""
        worked = look = time.monotonic()
        while process.poll() is None:
            if self.stop.wait(0.2):
                self._end(process)
                return "stopped"
            now = time.monotonic()
            if self.demand is None or now - look < LOOK_FOR_WORK:
                continue
            look = now
            if self._has_work(advance=False, otherwise=True):  # a failed question keeps it running
                worked = now
            elif now - worked >= self.idle_after:
                log.info(
                    "%s: no work for %.0f s; its process %d stops", self.label, now - worked, process.pid
                )
                self.resting = True  # before it ends, so that it is never seen down in between
                self._end(process)
                return "idle"
        return "died"

    def _has_work(self, *, advance: bool, otherwise: bool) -> bool:
        """`demand`'s answer, or `otherwise` when it cannot answer (the database is away)."""
        assert self.demand is not None
        try:
            answer = self.demand(advance)
        except Exception as failure:
            if not self._failing:
                log.warning("%s: cannot tell whether it has work: %s", self.label, failure)
            self._failing = True
            return otherwise
        self._failing = False
        return answer

    def _end(self, process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            log.warning("%s: its process %d did not stop in %.0f s; killed", self.label, process.pid, GRACE)
            process.kill()
            process.wait()


def stop_when_orphaned(parent: int, stop: threading.Event, every: float = 0.5) -> None:
    """Set `stop` once this process's parent is no longer `parent` (it died; we were adopted)."""
    while not stop.wait(every):
        if os.getppid() != parent:
            log.warning("the serving process %d is gone; stopping", parent)
            stop.set()
