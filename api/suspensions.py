"""Which brands are suspended, as the request gate asks on every /v1 call: a set kept in memory
and read again at most every half second, so a suspension or a reinstatement reaches every API
process within a second while a call costs no query of its own (one query a half second per
process, for every brand at once). Used from the event loop's thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from uuid import UUID

from starlette.concurrency import run_in_threadpool

TTL = 0.5


class SuspendedBrands:
    def __init__(
        self,
        read: Callable[[], Collection[UUID]],
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read, self.ttl, self.clock = read, ttl, clock
        self._brands: frozenset[UUID] = frozenset()
        self._fresh_until: float | None = None  # None: never read

    async def __call__(self, brand: UUID) -> bool:
        """Whether `brand` is suspended, as read at most `ttl` seconds ago."""
        if self._fresh_until is None:  # nothing known yet: every caller waits for a read
            await self._refresh()
        elif self.clock() >= self._fresh_until:
            # One caller reads again; the others meanwhile answer from the set it replaces.
            self._fresh_until = self.clock() + self.ttl
            await self._refresh()
        return brand in self._brands

    async def _refresh(self) -> None:
        started = self.clock()
        try:
            self._brands = frozenset(await run_in_threadpool(self.read))
        except BaseException:
            self._fresh_until = started  # stale: the next call reads again
            raise
        self._fresh_until = started + self.ttl
