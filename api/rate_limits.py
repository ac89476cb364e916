"""Fair shares between brands: a token bucket per brand for its requests, and a cap on its heavy work.

A brand's bucket holds up to `burst` requests and refills at `per_second` (by its plan: basic,
standard, premium; settings `RATE_LIMIT_<PLAN>_PER_SECOND` and `_BURST`). A request takes one
token; with none left it is refused with the seconds until one is back. Each brand has its own
bucket in a dictionary: deciding is a lookup and a few additions, under a lock held for exactly
that (never across an await), so a brand at its limit costs another brand nothing. A bucket that
has filled up again is the same as none, and the watch drops it (`sweep`), so memory follows
the brands active in the last few seconds. Heavy work (contact imports: a CSV file of up to
256 MiB is parsed and written while the request lasts) is also capped at `per_brand` requests in
flight. The limits hold per API process: N processes behind a balancer let a brand through at up
to N times the rate (docs/api.md, "Fair shares").
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


class Decision(NamedTuple):  # a tuple: made on every request, and a dataclass's __init__ costs more
    allowed: bool
    limit: int  # the bucket's size: the requests a brand may make at once
    remaining: int  # whole requests left in the bucket now
    reset: int  # seconds until the bucket is full again
    retry_after: int  # when refused: seconds until a request would be let through

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The same, as an ASGI answer carries them."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset),
        ]


class TokenBuckets:
    def __init__(
        self,
        rates: Mapping[str, Rate],
        default_plan: str = "basic",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates, self.default, self.clock = dict(rates), rates[default_plan], clock
        # brand (its UUID's int: hashed in C, where a UUID's hash is a Python call): tokens, when, rate
        self._buckets: dict[int, tuple[float, float, Rate]] = {}
        self._lock = threading.Lock()

    def take(self, brand: UUID, plan: str) -> Decision:
        """Take a token from the brand's bucket if it has one."""
        rate, key = self.rates.get(plan, self.default), brand.int
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            tokens = (
                rate.burst
                if bucket is None
                else min(rate.burst, bucket[0] + (now - bucket[1]) * rate.per_second)
            )
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now, rate)
        return Decision(
            allowed,
            rate.burst,
            int(tokens),
            math.ceil((rate.burst - tokens) / rate.per_second),
            0 if allowed else math.ceil((1.0 - tokens) / rate.per_second),
        )

    def sweep(self) -> None:
        """Drop the buckets that have filled up again (the same as no bucket)."""
        now = self.clock()
        with self._lock:
            full = [
                brand
                for brand, (tokens, at, rate) in self._buckets.items()
                if tokens + (now - at) * rate.per_second >= rate.burst
            ]
            for brand in full:
                del self._buckets[brand]

    def __len__(self) -> int:
        return len(self._buckets)


class HeavyWork:
    """How many heavy requests each brand has in flight, at most `per_brand`."""

    def __init__(self, per_brand: int) -> None:
        self.per_brand = per_brand
        self._running: dict[UUID, int] = {}
        self._lock = threading.Lock()

    def enter(self, brand: UUID) -> bool:
        with self._lock:
            running = self._running.get(brand, 0)
            if running >= self.per_brand:
                return False
            self._running[brand] = running + 1
            return True

    def leave(self, brand: UUID) -> None:
        with self._lock:
            running = self._running.pop(brand, 1) - 1
            if running > 0:
                self._running[brand] = running
