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
    """System time plus an offset that only grows; advancing it wakes whoever waits on it."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()
        self.advanced = threading.Event()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        self.advanced.set()
        return self.now()
