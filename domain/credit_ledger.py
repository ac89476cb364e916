"""The CreditLedger aggregate: one per brand; grants, reservations per campaign and their settlement.

Balance (in credits; 1 credit = $0.001) is what the brand can still reserve: granted minus reserved
plus released. Consumption settles part of a reservation without changing the balance (the credit
was already taken from it). Sends never touch this aggregate; they are settled here per campaign in
batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InsufficientCredits
from domain.event_time import TimedAggregate


class Plan(StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    PREMIUM = "premium"

    @property
    def credits(self) -> int:
        return {"basic": 1_000, "standard": 10_000, "premium": 100_000}[self.value]


@dataclass
class Reservation:
    reserved: int = 0
    consumed: int = 0
    released: int = 0
    # Set when the campaign completed or was archived: the log position its settlement closed it
    # at, and the units it kept for steps then at a provider (their outcome settles each).
    closed_through: int | None = None
    held: int = 0

    @property
    def outstanding(self) -> int:
        return self.reserved - self.consumed - self.released


class CreditLedger(TimedAggregate):
    """The credits of one brand; each event's timestamp is its own time field (domain/event_time.py)."""

    @staticmethod
    def create_id(brand_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/credit-ledgers/{brand_id}")

    class LedgerOpened(Aggregate.Created):
        brand_id: UUID
        plan: str
        class_version = 1

    @event(LedgerOpened)
    def __init__(self, brand_id: UUID, plan: str) -> None:
        self.brand_id = brand_id
        self.plan = Plan(plan)
        self.granted = 0
        self.balance = 0
        self.reservations: dict[UUID, Reservation] = {}
        self.settled_through = 0  # the event-log position the settlement process has applied

    @classmethod
    def open(cls, brand_id: UUID, plan: Plan, opened_at: datetime) -> CreditLedger:
        ledger = cls._create(cls.LedgerOpened, brand_id=brand_id, plan=plan.value, timestamp=opened_at)
        ledger.grant(plan.credits, reason=f"plan {plan.value}", granted_at=opened_at)
        return ledger

    def reservation(self, campaign_id: UUID) -> Reservation:
        return self.reservations.get(campaign_id, Reservation())

    @property
    def reserved_outstanding(self) -> int:
        return sum(r.outstanding for r in self.reservations.values())

    class CreditsGranted(Aggregate.Event):
        amount: int
        reason: str
        granted_at: datetime
        class_version = 1
        TIME_FIELD = "granted_at"

    def grant(self, amount: int, reason: str, granted_at: datetime) -> None:
        _require_positive(amount)
        self._granted(amount, reason, granted_at)

    @event(CreditsGranted)
    def _granted(self, amount: int, reason: str, granted_at: datetime) -> None:
        self.granted += amount
        self.balance += amount

    class CreditsReserved(Aggregate.Event):
        campaign_id: UUID
        amount: int
        reserved_at: datetime
        class_version = 1
        TIME_FIELD = "reserved_at"

    def reserve(self, campaign_id: UUID, amount: int, reserved_at: datetime) -> None:
        if amount < 0:
            raise DomainError("a reservation cannot be negative")
        if campaign_id in self.reservations:
            raise DomainError(f"campaign {campaign_id} already holds a reservation")
        if amount > self.balance:
            raise InsufficientCredits(needed=amount, available=self.balance)
        self._reserved(campaign_id, amount, reserved_at)

    @event(CreditsReserved)
    def _reserved(self, campaign_id: UUID, amount: int, reserved_at: datetime) -> None:
        self.reservations[campaign_id] = Reservation(reserved=amount)
        self.balance -= amount

    class CreditsConsumed(Aggregate.Event):
        campaign_id: UUID
        amount: int
        consumed_at: datetime
        settled_through: int = 0
        class_version = 2
        TIME_FIELD = "consumed_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `settled_through`: v1 did not keep the settlement's log position (0)."""
            state.setdefault("settled_through", 0)

    def consume(
        self, campaign_id: UUID, amount: int, consumed_at: datetime, settled_through: int = 0
    ) -> None:
        self._require_outstanding(campaign_id, amount)
        self._consumed(campaign_id, amount, consumed_at, settled_through)

    @event(CreditsConsumed)
    def _consumed(self, campaign_id: UUID, amount: int, consumed_at: datetime, settled_through: int) -> None:
        self.reservations[campaign_id].consumed += amount
        self.settled_through = max(self.settled_through, settled_through)

    class CreditsReleased(Aggregate.Event):
        campaign_id: UUID
        amount: int
        reason: str
        released_at: datetime
        settled_through: int = 0
        # A release that closes the campaign's reservation (it completed or was archived), and the
        # units it keeps for steps at a provider at that moment.
        closes: bool = False
        held: int = 0
        class_version = 3
        TIME_FIELD = "released_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `settled_through`: v1 did not keep the settlement's log position (0)."""
            state.setdefault("settled_through", 0)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Added `closes` and `held`: a v2 release closed its campaign when its reason said so,
            and kept nothing back."""
            state.setdefault("closes", state.get("reason") in CLOSING_REASONS)
            state.setdefault("held", 0)

    def release(
        self, campaign_id: UUID, amount: int, reason: str, released_at: datetime, settled_through: int = 0
    ) -> None:
        self._require_outstanding(campaign_id, amount)
        self._released(campaign_id, amount, reason, released_at, settled_through)

    def close(
        self, campaign_id: UUID, reason: str, held: int, closed_at: datetime, settled_through: int
    ) -> int:
        """Release what a completed or archived campaign still holds, except up to `held` units
        for steps at a provider right now: each of those stays reserved until its outcome is known,
        then is consumed (it was sent) or released (it was not). Returns the units released."""
        if reason not in CLOSING_REASONS:
            raise DomainError(
                f"a reservation closes when its campaign completes or is archived, not {reason!r}"
            )
        reservation = self.reservation(campaign_id)
        if reservation.closed_through is not None:
            raise DomainError(f"campaign {campaign_id}'s reservation is closed already")
        outstanding = reservation.outstanding
        if outstanding <= 0:
            return 0
        kept = max(0, min(held, outstanding))
        self._released(campaign_id, outstanding - kept, reason, closed_at, settled_through, True, kept)
        return outstanding - kept

    @event(CreditsReleased)
    def _released(
        self,
        campaign_id: UUID,
        amount: int,
        reason: str,
        released_at: datetime,
        settled_through: int,
        closes: bool = False,
        held: int = 0,
    ) -> None:
        reservation = self.reservations[campaign_id]
        reservation.released += amount
        if closes:
            reservation.closed_through, reservation.held = settled_through, held
        self.balance += amount
        self.settled_through = max(self.settled_through, settled_through)

    def _require_outstanding(self, campaign_id: UUID, amount: int) -> None:
        _require_positive(amount)
        outstanding = self.reservation(campaign_id).outstanding
        if amount > outstanding:
            raise DomainError(f"campaign {campaign_id} has {outstanding} credits outstanding, not {amount}")


# Why a reservation closes: the reasons of the releases that close one.
CLOSING_REASONS = ("campaign completed", "campaign archived")


def _require_positive(amount: int) -> None:
    if amount <= 0:
        raise DomainError("an amount of credits must be positive")
