"""Stored events turned into domain events by orjson: the library's mapper's events, several times faster.

The library's mapper reads a stored state with the json module and an object_hook (a Python call
per JSON object), a third of a replay's CPU (docs/performance-profile.md). `EventDecoder` reads it
with orjson, unwraps the transcoder's wrapped values (`{"_type_": ..., "_data_": ...}`) with the
transcoder's own transcodings, innermost first as the object_hook does, upcasts and builds the
event as the library does (the class's `__dict__` set to the state), puts back an event's own time where the store left it out
(storage/stored_times.py), and lets the application's mapper finish it (`FinishesEvents`: the
personal-data seal's address hashes); a compacted state (storage/compact_states.py) is expanded
first. A state in which
orjson finds a float, a number it cannot read or anything else unexpected, and every state of a
store with a cipher or a compressor, is handed to the mapper itself: the events are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from storage.compact_states import expanded
from storage.stored_times import OwnTimeOnceMapper, own_time_field


@runtime_checkable
class FinishesEvents(Protocol):
    """A mapper that completes each event it decodes (commands/personal_data/sealed_events.py)."""

    def finished(self, domain_event: Any) -> Any:
        """The event as the mapper's `to_domain_event` hands it out, from the library's event."""


class _Inexact(Exception):
    """orjson read something the json module might read otherwise: the mapper reads the state."""


class EventDecoder:
    """`mapper.to_domain_event`, faster: `decode(originator_id, version, topic, state)`."""

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        plain = mapper.cipher is None and mapper.compressor is None
        self.names: dict[str, Callable[[Any], Any]] | None = (
            {name: _decoder_of(transcoding) for name, transcoding in transcoder.names.items()}
            if plain and isinstance(transcoder, JSONTranscoder)
            else None
        )
        self.finish = mapper.finished if isinstance(mapper, FinishesEvents) else None
        self.classes: dict[str, tuple[type, Callable[[Any], Any], int, str | None]] = {}

    def decode(self, originator_id: UUID, version: int, topic: str, state: bytes) -> Any:
        names = self.names
        if names is None:
            return self.mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))
        try:
            event_state = _unwrapped(orjson.loads(expanded(state)), names)
            if type(event_state) is not dict:
                raise _Inexact
            cls, convert, class_version, own_time = self.classes.get(topic) or self._class_of(
                topic, originator_id
            )
        except Exception:  # the mapper's own reading decides: the same event, or its error
            return self.mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = version
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        if own_time is not None and own_time not in event_state:  # stored once (stored_times.py)
            event_state[own_time] = event_state["timestamp"]
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        return event if self.finish is None else self.finish(event)

    def _class_of(
        self, topic: str, originator_id: UUID
    ) -> tuple[type, Callable[[Any], Any], int, str | None]:
        cls = resolve_topic(topic)
        convert = find_id_convertor(cls, cast(Hashable, type(originator_id)))
        own_time = own_time_field(cls) if isinstance(self.mapper, OwnTimeOnceMapper) else None
        found = self.classes[topic] = (cls, convert, getattr(cls, "class_version", 1), own_time)
        return found


def _decoder_of(transcoding: Transcoding) -> Callable[[Any], Any]:
    """The transcoding's `decode`; for the library's ids and times (given a text, as `_unwrapped`
    gives them) what it calls, without the call around it."""
    kind = type(transcoding)
    if kind is UUIDAsHex:
        return _remembered_ids()
    if kind is DatetimeAsISO:
        return datetime.fromisoformat
    return transcoding.decode


REMEMBERED_IDS = 4_096  # ids a decoder keeps made; forgotten all at once when it holds more


def _remembered_ids() -> Callable[[str], UUID]:
    """`UUID` from its hex, the same object again for a hex met lately: the log's events name the
    same campaigns and brands over and over, and `UUID()` checks and converts its text each time
    (a fifth of the decoding). A UUID cannot be changed, so events may share one."""
    known: dict[str, UUID] = {}

    def uuid_of(hex_text: str) -> UUID:
        found = known.get(hex_text)
        if found is None:
            if len(known) >= REMEMBERED_IDS:
                known.clear()
            found = known[hex_text] = UUID(hex_text)
        return found

    return uuid_of


def _unwrapped(obj: Any, names: dict[str, Callable[[Any], Any]]) -> Any:
    """The value the transcoder's object_hook makes of what orjson read (its objects, in place).
    A wrapped text (an id, a time) is unwrapped where it is found: a call less per value."""
    kind = type(obj)
    if kind is dict:
        for key, value in obj.items():
            kind = type(value)
            if kind is dict:
                data = value.get("_data_")
                if type(data) is str and len(value) == 2 and "_type_" in value:
                    obj[key] = names[value["_type_"]](data)  # KeyError, TypeError: the mapper decides
                else:
                    obj[key] = _unwrapped(value, names)
            elif kind is list:
                obj[key] = _unwrapped(value, names)
            elif kind is float:
                raise _Inexact
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            return names[obj["_type_"]](obj["_data_"])
        return obj
    if kind is list:
        for i, item in enumerate(obj):
            kind = type(item)
            if kind is dict or kind is list:
                obj[i] = _unwrapped(item, names)
            elif kind is float:
                raise _Inexact
        return obj
    if kind is float:
        raise _Inexact
    return obj
