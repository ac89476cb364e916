"""One clock for every event: an event occurs at the time its command was given, never before the one before it.

eventsourcing stamps an event with the machine's wall clock the moment it builds it, which is another
clock than the `now` a use case decides with (the service's Clock, which `--dev-clock` moves ahead):
a campaign's `launched_at` and its CampaignLaunched's timestamp then disagree, and time travel with
them. Here an event's timestamp is its own time field, the one its class names in `TIME_FIELD`
(`launched_at`); one without (a consequence such as GroupScheduled) shares the time of the event just
before it in the same decision, unless its command gives `timestamp` itself. A time before the
aggregate's last event (a retried decision, another process's clock) is moved up to it, the field
with it, so each aggregate's history runs forward in time and its fields still tell its events' times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate


def _own_time(event_class: type, kwargs: dict[str, Any]) -> datetime | None:
    field: str | None = getattr(event_class, "TIME_FIELD", None)
    at: datetime | None = kwargs.get("timestamp") or (kwargs.get(field) if field else None)
    return at


class TimedAggregate(Aggregate):
    """An aggregate whose events are stamped with the times its commands give."""

    @classmethod
    def _create(
        cls,
        event_class: type[CanInitAggregate[Any]],
        *,
        id: Any = None,
        **kwargs: Any,
    ) -> Self:
        at = _own_time(event_class, kwargs)
        if at is not None:
            kwargs["timestamp"] = at
        return super()._create(event_class, id=id, **kwargs)

    def trigger_event(self, event_class: type[CanMutateAggregate[Any]], **kwargs: Any) -> None:
        at = _own_time(event_class, kwargs)
        if at is None or at < self.modified_on:
            at = self.modified_on
        field = getattr(event_class, "TIME_FIELD", None)
        if field is not None:
            kwargs[field] = at
        kwargs["timestamp"] = at
        super().trigger_event(event_class, **kwargs)
