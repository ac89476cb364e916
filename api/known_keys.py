"""The keys an API process found lately, forgotten the moment they are revoked anywhere.

A key found stays known for `ttl` seconds (at most `size` of them, the least recently used going
first), so a call within that time is decided without a query and without a hop to a worker
thread; a key not found is looked up every time, so no stranger's guess is remembered. Keys are
held by their sha256, never as given. Revocations come from `KeyWatch` (api/key_watch.py), which
polls the database every fraction of a second: `forget` drops the revoked keys, and `checked`
says the memory was compared with the database just now. A memory not compared for `trust_for`
seconds (a watch that cannot reach the database) is not used at all, so a revoked key is never
taken on faith for longer than that (decision record 20). A lookup that was under way while a
revocation came in is not remembered (`generation`), since it may have read the key before it.

Used from the event loop and the watch thread: each method holds a lock for a few dictionary
operations, never across an await.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from uuid import UUID

from commands.access.key_lookup import KeyHolder


class KnownKeys:
    def __init__(
        self,
        ttl: float = 60.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        trust_for: float | None = None,
    ) -> None:
        """`trust_for`: None trusts the memory without any check (nothing is ever revoked)."""
        self.ttl, self.size, self.clock, self.trust_for = ttl, size, clock, trust_for
        self._found: OrderedDict[str, tuple[KeyHolder, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self.generation = 0  # grows with every revocation learnt

    def _trusted(self, now: float) -> bool:
        if self.trust_for is None:
            return True
        return self._checked_at is not None and now - self._checked_at < self.trust_for

    def get(self, key_sha256: str) -> KeyHolder | None:
        now = self.clock()
        with self._lock:
            entry = self._found.get(key_sha256)
            if entry is None:
                return None
            holder, until = entry
            if now >= until or not self._trusted(now):
                del self._found[key_sha256]
                return None
            self._found.move_to_end(key_sha256)
            return holder

    def put(self, key_sha256: str, holder: KeyHolder, generation: int) -> None:
        """Remember a key looked up while `generation` was current; not if a revocation came since."""
        now = self.clock()
        with self._lock:
            if generation != self.generation or not self._trusted(now):
                return
            self._found[key_sha256] = (holder, now + self.ttl)
            self._found.move_to_end(key_sha256)
            while len(self._found) > self.size:
                self._found.popitem(last=False)

    def forget(self, revoked: Iterable[str]) -> None:
        with self._lock:
            self.generation += 1
            for key_sha256 in revoked:
                self._found.pop(key_sha256, None)

    def forget_key(self, key_id: UUID) -> None:
        """Forget a key by its id (the process that revokes it knows no more; revocations are rare,
        so a pass over the memory is cheap enough)."""
        with self._lock:
            self.generation += 1
            for key_sha256 in [k for k, (holder, _) in self._found.items() if holder.key_id == key_id]:
                del self._found[key_sha256]

    def checked(self, at: float) -> None:
        """The memory now holds no key revoked before `at` (this clock's time the check began)."""
        with self._lock:
            if self._checked_at is None or at > self._checked_at:
                self._checked_at = at
