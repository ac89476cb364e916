"""The AddressConsent aggregate: one per brand and address, the history of whether the brand may
contact that email address or phone number.

The brand's suppression list (a table the send path reads right before each provider call) says
only what holds now; these events say what held when, so the consent audit can replay them beside
the sends. An address is suppressed by an operator's entry, a one-click unsubscribe, a STOP text, a
hard bounce or an opt-out the provider reported (its `cause` says which, as
domain/withdrawal.py words it), and the suppression is lifted by a START text or the brand taking
the entry off its list. Suppressing an address already suppressed, or lifting one that is not,
records nothing. The address is stored as contacts store it (normalised), like the enrollments'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.event_time import TimedAggregate
from domain.withdrawal import WithdrawalCause


class AddressConsent(TimedAggregate):
    """Whether one address of one brand may be contacted, and since when it may not."""

    @staticmethod
    def create_id(brand_id: UUID, address: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/address-consent/{brand_id}/{address}")

    class ConsentOpened(Aggregate.Created):
        brand_id: UUID
        address: str  # stored sealed with the consent's own key from v2 on (the store seals it)
        address_hash: str | None = None  # the brand's keyed hash of the address; None before v2
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `address_hash`, and the address is stored sealed: a v1 consent kept it in
            plain text and no hash (None: computed when read)."""
            state.setdefault("address_hash", None)

    @event(ConsentOpened)
    def __init__(self, brand_id: UUID, address: str, address_hash: str | None = None) -> None:
        self.brand_id = brand_id
        self.address = address  # opened by the store; `erased` once the address is erased
        self.address_hash = address_hash
        self.suppressed = False
        self.suppressed_since: datetime | None = None

    @classmethod
    def open(
        cls, brand_id: UUID, address: str, opened_at: datetime, consent_id: UUID | None = None
    ) -> AddressConsent:
        """`consent_id`: the id the caller derived (from a keyed hash of the address, so that the id
        says nothing of it); by default the one derived from the address itself."""
        return cls._create(
            cls.ConsentOpened,
            id=consent_id or cls.create_id(brand_id, address),
            brand_id=brand_id,
            address=address,
            timestamp=opened_at,
        )

    class AddressSuppressed(Aggregate.Event):
        reason: str
        cause: str  # a WithdrawalCause: unsubscribed, stop_keyword or suppressed
        suppressed_at: datetime
        class_version = 1
        TIME_FIELD = "suppressed_at"

    def suppress(self, reason: str, suppressed_at: datetime) -> bool:
        """Record that the address may no longer be contacted; False when it was suppressed already."""
        if self.suppressed:
            return False
        self._suppressed(reason, WithdrawalCause.of_words(reason).value, suppressed_at)
        return True

    @event(AddressSuppressed)
    def _suppressed(self, reason: str, cause: str, suppressed_at: datetime) -> None:
        self.suppressed, self.suppressed_since = True, suppressed_at

    class SuppressionLifted(Aggregate.Event):
        reason: str  # a START text, or the brand taking the entry off its list
        lifted_at: datetime
        class_version = 1
        TIME_FIELD = "lifted_at"

    def lift(self, reason: str, lifted_at: datetime) -> bool:
        """Record that the address may be contacted again; False when it was not suppressed."""
        if not self.suppressed:
            return False
        self._lifted(reason, lifted_at)
        return True

    @event(SuppressionLifted)
    def _lifted(self, reason: str, lifted_at: datetime) -> None:
        self.suppressed, self.suppressed_since = False, None
