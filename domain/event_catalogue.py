"""Every domain event class with its version and typed fields: the shape analysts and downstream
systems rely on. docs/events.md is generated from it by scripts/event_docs.py, and a test fails
when the two disagree, so a field added without a version bump and an upcaster shows in review.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

from eventsourcing.domain import Aggregate

from domain.address_consent import AddressConsent
from domain.api_keys import ApiKeys
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.erasure import PersonErasure
from domain.resealing import EventResealing

AGGREGATES: tuple[type[Aggregate], ...] = (
    Campaign,
    CreditLedger,
    Enrollment,
    ApiKeys,
    AddressConsent,
    PersonErasure,
    EventResealing,
)
# What every stored event carries around its data (the JSON envelope names them differently).
# The bases the library derives for each aggregate: no event is stored with these types.
LIBRARY_BASES = frozenset({"Event", "Created"})
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


@dataclass(frozen=True)
class EventField:
    name: str
    type: str
    default: str | None  # the default as Python writes it; None when the field is required


@dataclass(frozen=True)
class EventSchema:
    aggregate: str
    name: str
    version: int
    fields: tuple[EventField, ...]
    upcasts: tuple[str, ...]  # one line per upcaster, oldest first: what changed at each version


def event_classes(aggregate: type[Aggregate]) -> list[type[Aggregate.Event]]:
    """The event classes an aggregate declares, in the order they appear in its body."""
    return [
        member
        for name, member in vars(aggregate).items()
        if isinstance(member, type) and issubclass(member, Aggregate.Event) and name not in LIBRARY_BASES
    ]


def schema_of(aggregate: type[Aggregate], cls: type[Aggregate.Event]) -> EventSchema:
    version: int = getattr(cls, "class_version", 1)
    fields = tuple(
        EventField(field.name, str(field.type), _default(field))
        for field in dataclasses.fields(cls)
        if field.name not in ENVELOPE
    )
    upcasts = tuple(
        f"v{v} -> v{v + 1}: {inspect.getdoc(getattr(cls, f'upcast_v{v}_v{v + 1}')) or 'no note'}"
        for v in range(1, version)
    )
    return EventSchema(aggregate.__name__, cls.__name__, version, fields, upcasts)


def catalogue() -> list[EventSchema]:
    return [schema_of(aggregate, cls) for aggregate in AGGREGATES for cls in event_classes(aggregate)]


def _default(field: dataclasses.Field[object]) -> str | None:
    if field.default is not dataclasses.MISSING:
        return repr(field.default)
    return None
