"""Where the write side gets "now": the system clock, a development clock that can be advanced in
this process, or one whose advance is read from a file, so that every process of a test run (the
soak's roles, each a process of its own) shares one moved clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DevClock:
    """System time plus an offset that only grows; advancing it wakes every loop that waits on it."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()
        self._advanced = threading.Condition(self._lock)
        self._generation = 0

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            self._generation += 1
            self._advanced.notify_all()
        return self.now()

    def nap(self, seconds: float) -> None:
        """Sleep up to `seconds` of real time, waking at once if the clock is advanced meanwhile."""
        with self._lock:
            generation = self._generation
            self._advanced.wait_for(lambda: self._generation != generation, timeout=seconds)


class SharedOffsetClock:
    """System time plus the seconds written in a file, read on every call: whoever writes the file
    moves the clock of every process given it (`CLOCK_OFFSET_FILE`; soak/ writes it). A missing or
    half-written file reads as the last offset seen, and the offset never goes back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0.0

    def now(self) -> datetime:
        try:
            written = float(self.path.read_text() or "nan")
        except (OSError, ValueError):
            written = self._offset
        if written > self._offset:  # nan compares false: a torn read keeps the last offset
            self._offset = written
        return datetime.now(UTC) + timedelta(seconds=self._offset)
