"""The one place that turns a domain event into its documented JSON shape (Kafka, exports, the API)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from storage.compact_states import expanded

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")
# Personal data never leave in JSON (Kafka, exports, the API's event routes): each event's field
# that holds some shows `sealed`, or `erased` once the person was erased (docs/personal-data.md).
PERSONAL_FIELDS = {"ContactEnrolled": "addresses", "ConsentOpened": "address"}
SEALED_PREFIX = "pd1:"  # how a value sealed with a person's key starts (commands/personal_data/sealing.py)
SEALED, ERASED = "sealed", "erased"
_SEALED_KEY = re.compile(rb'"' + re.escape(SEALED_PREFIX.encode()) + rb"([0-9a-f-]{36}):")


def sealed_key_ids(states: Iterable[bytes]) -> set[str]:
    """The ids of the keys that the sealed values in these stored states were sealed with."""
    return {
        found.decode() for state in states if state for found in _SEALED_KEY.findall(expanded(bytes(state)))
    }


def _hidden(value: Any, erased_keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _hidden(v, erased_keys) for k, v in value.items()}
    if value is None:
        return None
    key = (
        value[len(SEALED_PREFIX) : len(SEALED_PREFIX) + 36] if str(value).startswith(SEALED_PREFIX) else None
    )
    return ERASED if value == ERASED or key in erased_keys else SEALED


def without_personal_data(
    type_name: str, data: dict[str, Any], erased_keys: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The event's JSON data with its personal data shown as `sealed` or `erased` (a value sealed
    with one of `erased_keys`, or already opened as `erased`)."""
    field = PERSONAL_FIELDS.get(type_name)
    if field is None or field not in data:
        return data
    return {**data, field: _hidden(data[field], erased_keys)}


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def event_type(event: Any) -> str:
    return type(event).__name__


def event_to_json(position: int, event: Any, erased_keys: frozenset[str] = frozenset()) -> dict[str, Any]:
    """{position, type, aggregate_id, version, occurred_at, data} as CONTRACT.md lists them; the
    personal data `sealed`, or `erased` when sealed with one of `erased_keys`."""
    data = {k: _plain(v) for k, v in vars(event).items() if k not in ENVELOPE}
    return {
        "position": position,
        "type": event_type(event),
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "occurred_at": _plain(event.timestamp),
        "data": without_personal_data(event_type(event), data, erased_keys),
    }


def _unwrapped(obj: dict[str, Any]) -> Any:
    """The plain value of one value the event store's JSON transcoder wrapped (uuid, datetime)."""
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        kind, data = obj["_type_"], obj["_data_"]
        if kind == "uuid_hex":
            return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
        if kind == "datetime_iso":
            return data.replace("+00:00", "Z")
        return data  # decimal_str, or a transcoding of ours: already a plain string
    return obj


_decode = json.JSONDecoder(object_hook=_unwrapped).decode  # built once: json.loads builds one per call

# orjson reads and writes JSON several times faster than the json module, with the same values and
# the same compact text for strings, booleans, null, objects, arrays and ints; not for floats (it
# writes 1e16 as 1e16, NaN as null; it reads an int past 64 bits as a float). A stored state in
# which it finds a float, or a number it cannot read (NaN, 1e400), is read by the json module.


class _Inexact(Exception):
    """orjson read a float: the json module reads the state instead."""


def _unwrapped_all(obj: dict[str, Any]) -> Any:
    """`_unwrapped` applied to every object, innermost first, as the json module's object_hook is
    (in place: orjson's objects are this call's own); _Inexact at a float."""
    for key, value in obj.items():
        kind = type(value)
        if kind is dict:
            obj[key] = _unwrapped_all(value)
        elif kind is list:
            obj[key] = _unwrapped_list(value)
        elif kind is float:
            raise _Inexact
    return _unwrapped(obj)


def _unwrapped_list(items: list[Any]) -> list[Any]:
    for i, item in enumerate(items):
        kind = type(item)
        if kind is dict:
            items[i] = _unwrapped_all(item)
        elif kind is list:
            items[i] = _unwrapped_list(item)
        elif kind is float:
            raise _Inexact
    return items


def decoded_state(state: bytes) -> tuple[dict[str, Any], bool]:
    """`stored_state_to_json(state)`, and whether orjson read it: then it holds no float, and
    orjson writes what is made of it exactly as the json module would (json_text)."""
    try:
        plain: dict[str, Any] = _unwrapped_all(orjson.loads(state))
        exact = True
    except (orjson.JSONDecodeError, _Inexact):
        plain, exact = _decode(state.decode()), False
    plain.pop("class_version", None)
    return plain, exact


def stored_state_to_json(state: bytes) -> dict[str, Any]:
    """An event's stored state as the plain JSON `_plain` makes of the event object (ids and times
    as strings), straight from the bytes: no domain object is built, so an export stays fast.

    Keeps the envelope's `timestamp` and `originator_topic` keys; `event_to_json` leaves them out.
    The `class_version` the library stores for a class past version 1 is dropped, as the event
    object does not carry it among its fields either.
    """
    return decoded_state(state)[0]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_text(value: Any, exact: bool) -> str:
    """Compact JSON, not ASCII-escaped, of a value made from a decoded state (dicts, lists,
    strings, ints, booleans, null); by orjson when `decoded_state` said `exact`."""
    return orjson.dumps(value).decode() if exact else _dumps(value)


def topic_type(topic: str) -> str:
    """The event type name (`StepSent`) of a stored event's topic (`domain.enrollment:Enrollment.StepSent`)."""
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
