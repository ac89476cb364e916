"""The stored topic of every domain event type, by the type's name: what `--type NAME` may name.

Read from the domain's one event catalogue (domain/event_catalogue.py), so a new event is listed
without a line here.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.event_catalogue import AGGREGATES, event_classes


def _fields(event: type[Aggregate.Event]) -> set[str]:
    return {field for klass in event.__mro__ for field in getattr(klass, "__annotations__", {})}


def topics_by_name() -> dict[str, list[str]]:
    """{event type name: [stored topics]} (one topic per name today; a list if two aggregates
    ever name an event alike)."""
    found: dict[str, list[str]] = {}
    for aggregate in AGGREGATES:
        for event in event_classes(aggregate):
            found.setdefault(event.__name__, []).append(get_topic(event))
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
        for e in event_classes(Enrollment)
        if "campaign_id" not in _fields(e) or getattr(e, "campaign_id", "required") is None
    ]
