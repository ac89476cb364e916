"""How many calls a provider adapter has in flight, per channel: the concurrency a slow provider gets.

Only the network call itself holds a place; the bookkeeping around it (recording the attempt,
reading credentials, recording the answer) runs outside, in the send's own thread, so a place
freed by one answer is taken by a send that is already prepared. A channel's calls never wait for
another channel's: texts and voicemail share the Twilio adapter but not their places.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from commands.sending.providers import PROVIDER_CONCURRENCY


class CallsInFlight:
    def __init__(self, limit: int = PROVIDER_CONCURRENCY) -> None:
        self.limit = limit
        self._places: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def place(self, channel: str) -> Iterator[None]:
        """Wait for one of the channel's places and hold it for the duration of the call."""
        with self._lock:
            places = self._places.setdefault(channel, threading.BoundedSemaphore(self.limit))
        with places:
            yield
