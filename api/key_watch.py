"""The API process's background watch over its keys: revocations learnt, uses written, buckets swept.

`KeyWatch.run_once` is one pass, which the composition root runs every `interval` seconds on a
thread of its own (decision record 20): it asks the database for revocations numbered past the
last it saw and makes `KnownKeys` forget those keys (then marks the memory checked, so it is
trusted for a little longer); it writes the `last_used_at` of the keys used since the last pass
(`KeyUses`, at most once a minute per key, many keys in one statement), and drops the rate
buckets that have filled up again. Nothing here is on a request's way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from api.known_keys import KnownKeys
from api.rate_limits import TokenBuckets
from commands.access.key_lookup import latest_revocation, record_uses, revoked_since
from storage.database import Database

USE_RECORDED_EVERY = 60.0  # seconds: a key's last_used_at is at most this much behind


class KeyUses:
    """When each key was last used: noted by requests (a dictionary read, and a write once a
    minute per key), taken by the watch to be written."""

    def __init__(
        self, every: float = USE_RECORDED_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every, self.clock = every, clock
        self._noted: dict[UUID, float] = {}
        self._pending: dict[UUID, datetime] = {}
        self._lock = threading.Lock()
        self._pruned = clock()

    def note(self, key_id: UUID, wall_now: Callable[[], datetime]) -> None:
        now = self.clock()
        last = self._noted.get(key_id)
        if last is not None and now - last < self.every:
            return
        with self._lock:
            self._noted[key_id] = now
            self._pending[key_id] = wall_now()

    def take(self) -> dict[UUID, datetime]:
        """The uses noted since the last take (each key's latest)."""
        now = self.clock()
        with self._lock:
            pending, self._pending = self._pending, {}
            if now - self._pruned >= self.every:  # forget keys not used for a minute, once a minute
                self._noted = {key: at for key, at in self._noted.items() if now - at < self.every}
                self._pruned = now
        return pending

    def give_back(self, pending: dict[UUID, datetime]) -> None:
        """Uses that could not be written: kept for the next pass, unless a newer use came meanwhile."""
        with self._lock:
            for key, at in pending.items():
                self._pending.setdefault(key, at)


class KeyWatch:
    def __init__(
        self,
        db: Database,
        known: KnownKeys,
        uses: KeyUses,
        buckets: TokenBuckets | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.known, self.uses, self.buckets, self.clock = db, known, uses, buckets, clock
        self.seen: int | None = None  # the latest revocation number learnt; None before the first pass

    def run_once(self) -> int:
        """One pass; returns 0 (the watch never hurries: its next pass comes after its interval)."""
        began = self.clock()
        if self.seen is None:
            self.seen = latest_revocation(self.db)  # a fresh memory holds no key revoked before
        else:
            revoked = revoked_since(self.db, self.seen)
            if revoked:
                self.known.forget(key_sha256 for key_sha256, _ in revoked)
                self.seen = revoked[-1][1]
        self.known.checked(began)
        used = self.uses.take()
        try:
            record_uses(self.db, used)
        except Exception:
            self.uses.give_back(used)
            raise
        if self.buckets is not None:
            self.buckets.sweep()
        return 0
