"""Which brands are suspended, as the request gate asks on every /v1 call: a set kept in memory
and read again at most every half second, so a suspension or a reinstatement reaches every API
process within a second while a call costs no query of its own (one query a half second per
process, for every brand at once). A failed read keeps the last set (and the next call reads
again); before any read has succeeded, the call fails. Used from the event loop's thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from uuid import UUID

from starlette.concurrency import run_in_threadpool

TTL = 0.5
log = logging.getLogger(__name__)


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
        started, known = self.clock(), self._fresh_until is not None
        try:
            self._brands = frozenset(await run_in_threadpool(self.read))
        except Exception:
            # Nothing known yet: the call cannot be decided. Else the last set stands (a lost
            # connection is no reason to refuse every call at the gate) and the next call reads.
            self._fresh_until = started if known else None
            if not known:
                raise
            log.warning("could not read the suspended brands; the last set read stands", exc_info=True)
            return
        self._fresh_until = started + self.ttl
