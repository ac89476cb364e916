"""The event store's mapper, sealing the personal data of the events that carry some.

`ContactEnrolled.addresses` are stored sealed with the contact's key and `ConsentOpened.address`
with the consent's own key (commands/personal_data/sealing.py), each beside the brand's keyed hash
of the address (`address_hashes`, `address_hash`), which the hash chain then covers as stored. On
the way back the events keep their sealed values: only the aggregates that need an address open
them (`open_addresses`, which the application calls for the enrollments and consents it loads), so
the log followers (projector, relay, audits) never read a key. An event written before sealing
gets its hash computed as it is read, so matching by hash works whatever the event's age. Only
these two events hold personal data; everything else passes through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from commands.personal_data.sealing import PersonalDataSeal, is_sealed
from domain.address_consent import AddressConsent
from domain.enrollment import Enrollment
from domain.enrollment_events import ContactEnrolled
from storage.compact_states import CompactMapper
from storage.event_json import sealed_key_ids


def keys_of_stored(states: Iterable[bytes]) -> set[UUID]:
    """The keys that the sealed values in these stored states were sealed with."""
    return {UUID(key_id) for key_id in sealed_key_ids(states)}


class SealingMapper(CompactMapper):
    """The application's mapper (same transcoder, compressor and cipher, each event's own time
    stored once, later events compacted: storage/compact_states.py) with personal data sealed."""

    def __init__(self, base: Mapper[UUID], seal: PersonalDataSeal) -> None:
        super().__init__(base.transcoder, base.compressor, base.cipher)
        self.plain_classes = getattr(base, "plain_classes", ())
        self.headed_classes = getattr(base, "headed_classes", ())
        self.seal = seal

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if isinstance(domain_event, ContactEnrolled):
            domain_event = self._with(domain_event, self._sealed_enrolment(vars(domain_event)))
        elif isinstance(domain_event, AddressConsent.ConsentOpened):
            domain_event = self._with(domain_event, self._sealed_consent(vars(domain_event)))
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.finished(super().to_domain_event(stored_event))

    def finished(self, domain_event: Any) -> Any:
        """The event as read back: one stored before sealing gets its address hashes here (the
        log's faster reading, storage/event_decoding.py, calls this too)."""
        if isinstance(domain_event, ContactEnrolled):
            state = vars(domain_event)
            if state.get("address_hashes") is None:  # written before sealing: hash the plain text
                state["address_hashes"] = {
                    channel: self.seal.address_hash(state["brand_id"], address)
                    for channel, address in state["addresses"].items()
                }
        elif isinstance(domain_event, AddressConsent.ConsentOpened):
            state = vars(domain_event)
            if state.get("address_hash") is None:
                state["address_hash"] = self.seal.address_hash(state["brand_id"], state["address"])
        return domain_event

    @staticmethod
    def _with(event: Any, state: dict[str, Any]) -> Any:
        """A copy of the event with another state: the event given stays as the aggregate made it."""
        copy = object.__new__(type(event))
        object.__setattr__(copy, "__dict__", state)
        return copy

    def _sealed_enrolment(self, state: dict[str, Any]) -> dict[str, Any]:
        brand, key_id, addresses = state["brand_id"], state["contact_id"], state["addresses"]
        self.seal.ensure_keys([(key_id, brand, "contact")])
        sealed: dict[str, str] = {}  # the same number for texts and calls: sealed once
        for address in set(addresses.values()):
            sealed[address] = address if is_sealed(address) else self.seal.seal(key_id, address)
        return {
            **state,
            "addresses": {channel: sealed[address] for channel, address in addresses.items()},
            "address_hashes": state.get("address_hashes")
            or {channel: self.seal.address_hash(brand, address) for channel, address in addresses.items()},
        }

    def _sealed_consent(self, state: dict[str, Any]) -> dict[str, Any]:
        brand, key_id, address = state["brand_id"], state["originator_id"], state["address"]
        self.seal.ensure_keys([(key_id, brand, "consent")])
        return {
            **state,
            "address": address if is_sealed(address) else self.seal.seal(key_id, address),
            "address_hash": state.get("address_hash") or self.seal.address_hash(brand, address),
        }


def open_addresses(seal: PersonalDataSeal, aggregate: Any) -> None:
    """Open the sealed addresses of a loaded Enrollment or AddressConsent in place (`erased` where
    the key was destroyed); the keys should have been loaded for the batch first (`keys_of_stored`)."""
    if isinstance(aggregate, Enrollment):
        opened = {
            value: seal.open(value) if is_sealed(value) else value
            for value in set(aggregate.addresses.values())
        }
        aggregate.addresses = {channel: opened[value] for channel, value in aggregate.addresses.items()}
    elif isinstance(aggregate, AddressConsent) and is_sealed(aggregate.address):
        aggregate.address = seal.open(aggregate.address)


def sealed_values(event: Any) -> list[str]:
    """The sealed values an event carries (none for an event that holds no personal data)."""
    if isinstance(event, ContactEnrolled):
        return [value for value in event.addresses.values() if is_sealed(value)]
    if isinstance(event, AddressConsent.ConsentOpened):
        return [event.address] if is_sealed(event.address) else []
    return []
