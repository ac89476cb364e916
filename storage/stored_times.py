"""The event store's mapper: an event's own time stored once.

Since decision 19 an event's timestamp is its own time field (the one its class names in
`TIME_FIELD`: a StepSent's `sent_at`, a ContactEnrolled's `enrolled_at`), so every stored state held
the same instant twice, about 80 bytes of JSON each time (240 per sent contact; decision record
35). This mapper leaves the field out of the stored state when it is the timestamp to the character
(same instant, same offset), and puts it back when the event is read, after its upcasters: the
domain event, and every reader that goes through the mapper, see the field as before. A field that
differs from the timestamp (events written before decision 19) is stored as it was. Every version
of every event class stored its time field, so a stored state without it was written here: readers
of the raw JSON (the export) put it back with `with_own_time`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic


def own_time_field(event_class: type) -> str | None:
    """The name of the event class's own time field, if it has one."""
    field = getattr(event_class, "TIME_FIELD", None)
    return field if isinstance(field, str) else None


def _same_time(value: Any, timestamp: Any) -> bool:
    """Whether the value is the timestamp as the transcoder writes it (ISO text, offset included)."""
    return (
        isinstance(value, datetime)
        and isinstance(timestamp, datetime)
        and value.isoformat() == timestamp.isoformat()
    )


class OwnTimeOnceMapper(Mapper[UUID]):
    """The library's mapper, storing an event's own time field only when it is not its timestamp."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        field = own_time_field(type(domain_event))
        state = vars(domain_event)
        if field is not None and _same_time(state.get(field), state.get("timestamp")):
            copy = object.__new__(type(domain_event))  # the event given stays as the aggregate made it
            object.__setattr__(copy, "__dict__", {k: v for k, v in state.items() if k != field})
            domain_event = copy
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        field = own_time_field(type(domain_event))
        if field is not None:
            state = vars(domain_event)
            if field not in state:
                state[field] = state["timestamp"]
        return domain_event


@cache
def _own_time_field_of(topic: str) -> str | None:
    try:
        return own_time_field(resolve_topic(topic))
    except Exception:  # a topic no class answers to any more: nothing to put back
        return None


def with_own_time(topic: str, state: dict[str, Any]) -> dict[str, Any]:
    """A stored state read without the mapper (decoded, in any representation), with its event's
    own time field put back from its `timestamp` where this mapper left it out."""
    field = _own_time_field_of(topic)
    if field is not None and field not in state and "timestamp" in state:
        state[field] = state["timestamp"]
    return state
