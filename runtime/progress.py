"""Progress of a long operator command on stderr: a live bar on a terminal, one summary line otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call with (position reached, position to reach); `done` prints the summary line."""

    def __init__(self, label: str, stream: TextIO | None = None, every: float = 0.2) -> None:
        self.label, self.stream, self.every = label, stream or sys.stderr, every
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.first: int | None = None
        self.shown = 0.0
        self.reached = 0

    def __call__(self, reached: int, target: int) -> None:
        if self.first is None:
            self.first = 0
        self.reached = reached
        now = time.monotonic()
        if not self.live or (now - self.shown < self.every and reached < target):
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = reached / elapsed
        eta = (target - reached) / rate if rate else 0.0
        width = 30
        filled = width * reached // max(target, 1)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {reached:,}/{target:,}"
            f"  {rate:,.0f} events/s  ETA {eta:,.0f}s "
        )
        self.stream.flush()

    def done(self, summary: str) -> None:
        seconds = time.monotonic() - self.started
        end = "\n" if self.live else ""
        self.stream.write(f"{end}{self.label}: {summary} in {seconds:.1f}s\n")
        self.stream.flush()
