"""Where the write side gets "now": the system clock, or a development clock that can be advanced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
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
