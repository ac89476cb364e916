"""Every event type of the domain by name, with its stored topic: what `--type NAME` may name.

Built from the aggregates' own event classes, so a new event is listed without a line here.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic

from domain.api_keys import ApiKeys
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment

AGGREGATES: tuple[type[Aggregate], ...] = (Campaign, CreditLedger, Enrollment, ApiKeys)
_BASES = frozenset({"Event", "Created", "Snapshot"})  # every aggregate's base classes, never stored


def _events(aggregate: type[Aggregate]) -> dict[str, type[DomainEvent]]:
    return {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, DomainEvent) and name not in _BASES
    }


def _fields(event: type[DomainEvent]) -> set[str]:
    return {field for klass in event.__mro__ for field in getattr(klass, "__annotations__", {})}


def topics_by_name() -> dict[str, list[str]]:
    """{event type name: [stored topics]} (one topic per name today; a list if two aggregates
    ever name an event alike)."""
    found: dict[str, list[str]] = {}
    for aggregate in AGGREGATES:
        for name, event in _events(aggregate).items():
            found.setdefault(name, []).append(get_topic(event))
    return found


def topics_for(names: list[str]) -> list[str]:
    """The stored topics of the named event types; ValueError naming the known ones otherwise."""
    known = topics_by_name()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown event type {', '.join(unknown)}; known types: {', '.join(sorted(known))}")
    return [topic for name in names for topic in known[name]]


def campaign_topic_prefix() -> str:
    """Topics of the Campaign aggregate's events start with this: their aggregate is the campaign."""
    return get_topic(Campaign) + "."


def ownerless_topics() -> list[str]:
    """Topics of enrollment events that name no campaign, or not in every version stored (a
    `campaign_id` that defaults to None): the export looks it up."""
    return [
        get_topic(e)
        for e in _events(Enrollment).values()
        if "campaign_id" not in _fields(e) or getattr(e, "campaign_id", "required") is None
    ]
