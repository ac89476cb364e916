"""The choice of sender accounts for one send, pure: which to try, in order, and each one's limit today.

Consistency first (the account used before for this contact keeps the thread), then up to three
healthy accounts with quota left, highest remaining quota first. An account's quota is its limit
today (the warm-up limit while warming up) minus what it sent today. The use case that takes the
quota for a batch, under a lock on the accounts, is commands/sending/claim_senders.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

MAX_FALLBACK_TRIES = 3


@dataclass(frozen=True)
class SenderQuota:
    id: UUID
    limit_today: int
    sends_today: int
    healthy: bool = True

    @property
    def remaining(self) -> int:
        return max(self.limit_today - self.sends_today, 0)


def warmup_limit(daily_limit: int, enabled: bool, start: int, increment: int, day: int) -> int:
    """An account's limit today: its warm-up limit while warming up, else its daily limit."""
    return min(daily_limit, start + increment * max(day, 0)) if enabled else daily_limit


def rotation_order(
    accounts: list[SenderQuota], preferred: UUID | None, max_tries: int = MAX_FALLBACK_TRIES
) -> list[UUID]:
    usable = [a for a in accounts if a.healthy and a.remaining > 0]
    first = [a.id for a in usable if a.id == preferred]
    fallback = sorted((a for a in usable if a.id != preferred), key=lambda a: (-a.remaining, str(a.id)))
    return first + [a.id for a in fallback[:max_tries]]
