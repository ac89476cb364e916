"""The CreditLedger aggregate: one per brand, its account: grants, reservations per campaign and
their settlement, the brand's plan and its standing (active or suspended).

Balance (in credits; 1 credit = $0.001) is what the brand can still reserve: granted minus reserved
plus released. Consumption settles part of a reservation without changing the balance (the credit
was already taken from it). Sends never touch this aggregate; they are settled here per campaign in
batches.

Credits are money: a purchase is a grant carrying its reference (an invoice or a payment id), and a
reference is granted once however often it is sent; the plan's credits are granted once per
monthly period (domain/renewal_calendar.py). A plan change, a suspension and a reinstatement are
events naming who did it and when, so the history shows who could do what when; so is a change of
the quiet hours its texts and calls keep, for the consent audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InsufficientCredits, InvalidInput
from domain.event_time import TimedAggregate
from domain.renewal_calendar import period_of

MAX_PURCHASE = 10_000_000  # credits in one purchase ($10,000)


class Plan(StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    PREMIUM = "premium"

    @property
    def credits(self) -> int:
        return {"basic": 1_000, "standard": 10_000, "premium": 100_000}[self.value]


@dataclass(frozen=True)
class Purchase:
    """A grant of bought credits, as first recorded for its reference."""

    reference: str
    amount: int
    reason: str
    granted_at: datetime


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
        self.purchases: dict[str, Purchase] = {}  # by reference
        self.periods: set[str] = set()  # plan periods granted (YYYY-MM)
        self.plan_changes: list[tuple[datetime, Plan]] = []  # (when, the plan from then on)
        self.opening_plan = self.plan
        self.suspended = False
        self.suspension_reason: str | None = None
        self.suspended_since: datetime | None = None
        self.quiet_hours: tuple[str, str] | None = None  # recorded by QuietHoursChanged; None: defaults

    @classmethod
    def open(cls, brand_id: UUID, plan: Plan, opened_at: datetime) -> CreditLedger:
        ledger = cls._create(cls.LedgerOpened, brand_id=brand_id, plan=plan.value, timestamp=opened_at)
        ledger._granted(plan.credits, f"plan {plan.value}", opened_at, None, period_of(opened_at))
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
        reference: str | None = None  # a purchase's invoice or payment id
        period: str | None = None  # a plan grant's period (YYYY-MM)
        class_version = 2
        TIME_FIELD = "granted_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `reference` (purchases) and `period` (plan grants): v1 grants had neither (null)."""
            state.setdefault("reference", None)
            state.setdefault("period", None)

    def grant(self, amount: int, reason: str, granted_at: datetime) -> None:
        _require_positive(amount)
        self._granted(amount, reason, granted_at, None, None)

    def purchase(self, amount: int, reference: str, reason: str, granted_at: datetime) -> Purchase:
        """Grant bought credits once per reference: a reference granted before changes nothing and
        gives back its first grant (whatever amount is asked now)."""
        if reference in self.purchases:
            return self.purchases[reference]
        if not reference.strip():
            raise InvalidInput("a purchase needs a reference", [{"field": "reference", "error": "empty"}])
        if not 1 <= amount <= MAX_PURCHASE:
            raise InvalidInput(
                f"a purchase is 1 to {MAX_PURCHASE:,} credits, not {amount}",
                [{"field": "amount", "error": f"must be 1..{MAX_PURCHASE}"}],
            )
        self._granted(amount, reason, granted_at, reference, None)
        return self.purchases[reference]

    def plan_at(self, moment: datetime) -> Plan:
        """The plan in force at `moment`: the last one chosen at or before it."""
        plan = self.opening_plan
        for changed_at, chosen in self.plan_changes:
            if changed_at <= moment:
                plan = chosen
        return plan

    def renew(self, renewal: datetime) -> bool:
        """Grant the plan's credits for the period `renewal` opens, unless granted already."""
        period = period_of(renewal)
        if period in self.periods:
            return False
        plan = self.plan_at(renewal)
        self._granted(plan.credits, f"plan {plan.value} {period}", renewal, None, period)
        return True

    @event(CreditsGranted)
    def _granted(
        self, amount: int, reason: str, granted_at: datetime, reference: str | None, period: str | None
    ) -> None:
        self.granted += amount
        self.balance += amount
        if reference is not None:
            self.purchases.setdefault(reference, Purchase(reference, amount, reason, granted_at))
        if period is not None:
            self.periods.add(period)

    class PlanChanged(Aggregate.Event):
        plan: str
        previous_plan: str
        changed_by: str
        changed_at: datetime
        class_version = 1
        TIME_FIELD = "changed_at"

    def change_plan(self, plan: Plan, changed_by: str, changed_at: datetime) -> bool:
        """Choose the plan granted from the next renewal on; False when it is the plan already."""
        if plan is self.plan:
            return False
        self._plan_changed(plan.value, self.plan.value, changed_by, changed_at)
        return True

    @event(PlanChanged)
    def _plan_changed(self, plan: str, previous_plan: str, changed_by: str, changed_at: datetime) -> None:
        self.plan = Plan(plan)
        self.plan_changes.append((changed_at, self.plan))

    class BrandSuspended(Aggregate.Event):
        reason: str
        suspended_by: str
        suspended_at: datetime
        class_version = 1
        TIME_FIELD = "suspended_at"

    def suspend(self, reason: str, suspended_by: str, suspended_at: datetime) -> bool:
        """Stop the brand's API calls and sends; False when it is suspended already."""
        if not reason.strip():
            raise InvalidInput("a suspension needs a reason", [{"field": "reason", "error": "empty"}])
        if self.suspended:
            return False
        self._suspended(reason, suspended_by, suspended_at)
        return True

    @event(BrandSuspended)
    def _suspended(self, reason: str, suspended_by: str, suspended_at: datetime) -> None:
        self.suspended, self.suspension_reason, self.suspended_since = True, reason, suspended_at

    class BrandReinstated(Aggregate.Event):
        reinstated_by: str
        reinstated_at: datetime
        class_version = 1
        TIME_FIELD = "reinstated_at"

    def reinstate(self, reinstated_by: str, reinstated_at: datetime) -> bool:
        """Let the brand call and send again; False when it is not suspended."""
        if not self.suspended:
            return False
        self._reinstated(reinstated_by, reinstated_at)
        return True

    @event(BrandReinstated)
    def _reinstated(self, reinstated_by: str, reinstated_at: datetime) -> None:
        self.suspended, self.suspension_reason, self.suspended_since = False, None, None

    class QuietHoursChanged(Aggregate.Event):
        allowed_from: str  # "HH:MM", the contact's local time: texts and calls may start
        allowed_until: str  # "HH:MM" (or "24:00"): they stop
        changed_at: datetime
        class_version = 1
        TIME_FIELD = "changed_at"

    def change_quiet_hours(self, allowed_from: str, allowed_until: str, changed_at: datetime) -> bool:
        """Record the local hours the brand's texts and calls may reach a contact in (checked by
        domain/quiet_hours.py before this is called); False when they are the hours recorded."""
        if self.quiet_hours == (allowed_from, allowed_until):
            return False
        self._quiet_hours_changed(allowed_from, allowed_until, changed_at)
        return True

    @event(QuietHoursChanged)
    def _quiet_hours_changed(self, allowed_from: str, allowed_until: str, changed_at: datetime) -> None:
        self.quiet_hours = (allowed_from, allowed_until)

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
