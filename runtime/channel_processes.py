"""Each channel's relay and send worker in a process of its own, started and watched by `serve`.

One Python process runs one thread at a time, so a channel whose provider is slow still spends
CPU on each of its sends (building the message, the SDK, the answer), and in one process that
time is taken from every other channel. `serve` therefore runs, for each channel, `campaign-service
channel --channel NAME` as a child: its own relay hands that channel's dispatches to its own worker
over an in-process transport, against the same database with the same keys and settings
(`Settings.environment`). A child that dies is started again after a pause that doubles up to 30 s;
nothing is sent twice by the restart, since a relay records its position only after the sends are
recorded and a step attempted before is reconciled with its provider. A child stops by itself
when its parent is gone. Decision record 13.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0  # seconds before a dead child is started again
STEADY = 60.0  # a child that ran this long before dying starts again after the first pause
GRACE = 2.0  # seconds a child has to stop after SIGTERM before it is killed


def command(channel: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runtime.cli",
        "channel",
        "--channel",
        channel,
        "--parent",
        str(os.getpid()),
    ]


class ChannelProcess:
    """Runs one channel's child process until `stop`, starting it again whenever it dies."""

    def __init__(self, channel: str, environment: Mapping[str, str], stop: threading.Event) -> None:
        self.channel, self.environment, self.stop = channel, dict(environment), stop
        self.process: subprocess.Popen[bytes] | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def supervise(self) -> None:
        pause = FIRST_PAUSE
        while not self.stop.is_set():
            started = time.monotonic()
            # A session of its own: a Ctrl-C at the terminal reaches serve alone, which stops its
            # children in order, instead of each child at once (and serve restarting them).
            self.process = subprocess.Popen(
                command(self.channel), env=self.environment, start_new_session=True
            )
            log.info("channel %s: relay and worker running in process %d", self.channel, self.process.pid)
            while self.process.poll() is None:
                if self.stop.wait(0.2):
                    self._end(self.process)
                    return
            ran = time.monotonic() - started
            pause = FIRST_PAUSE if ran > STEADY else pause
            log.warning(
                "channel %s: its process %d exited with %s after %.1f s; starting it again in %.0f s",
                self.channel,
                self.process.pid,
                self.process.returncode,
                ran,
                pause,
            )
            self.stop.wait(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def _end(self, process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            log.warning(
                "channel %s: its process %d did not stop in %.0f s; killed", self.channel, process.pid, GRACE
            )
            process.kill()
            process.wait()


def stop_when_orphaned(parent: int, stop: threading.Event, every: float = 0.5) -> None:
    """Set `stop` once this process's parent is no longer `parent` (it died; we were adopted)."""
    while not stop.wait(every):
        if os.getppid() != parent:
            log.warning("the serving process %d is gone; stopping", parent)
            stop.set()
