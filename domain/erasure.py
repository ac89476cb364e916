"""The PersonErasure aggregate: the record that a brand erased a person's personal data.

Erasing destroys the keys that seal the person's data in every event (crypto-shredding,
docs/personal-data.md), which nothing in the event log can show by itself; this event says who
asked, when, and which contact it was, and holds no personal data (an erasure of an address that
was nobody's contact names no contact). One per brand and person: erasing again records nothing.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.event_time import TimedAggregate


class PersonErasure(TimedAggregate):
    """That one person's personal data were erased by a brand, by whom and when."""

    @staticmethod
    def create_id(brand_id: UUID, person: str) -> UUID:
        """`person`: the contact's id, or the keyed hash of an address that was nobody's contact."""
        return uuid5(NAMESPACE_URL, f"/person-erasure/{brand_id}/{person}")

    class PersonErased(Aggregate.Created):
        brand_id: UUID
        contact_id: UUID | None  # None: the address was no contact's (only its consent was erased)
        erased_by: str  # who asked: an operator's name, or "admin api"
        erased_at: datetime
        class_version = 1
        TIME_FIELD = "erased_at"

    @event(PersonErased)
    def __init__(self, brand_id: UUID, contact_id: UUID | None, erased_by: str, erased_at: datetime) -> None:
        self.brand_id, self.contact_id = brand_id, contact_id
        self.erased_by, self.erased_at = erased_by, erased_at

    @classmethod
    def record(
        cls, brand_id: UUID, person: str, contact_id: UUID | None, erased_by: str, erased_at: datetime
    ) -> PersonErasure:
        return cls._create(
            cls.PersonErased,
            id=cls.create_id(brand_id, person),
            brand_id=brand_id,
            contact_id=contact_id,
            erased_by=erased_by,
            erased_at=erased_at,
        )
