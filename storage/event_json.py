"""The one place that turns a domain event into its documented JSON shape (Kafka, exports, the API)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


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


def event_to_json(position: int, event: Any) -> dict[str, Any]:
    """{position, type, aggregate_id, version, occurred_at, data} as CONTRACT.md lists them."""
    data = {k: _plain(v) for k, v in vars(event).items() if k not in ENVELOPE}
    return {
        "position": position,
        "type": event_type(event),
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "occurred_at": _plain(event.timestamp),
        "data": data,
    }
