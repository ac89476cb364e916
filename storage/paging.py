"""Keyset paging shared by every list: opaque cursors over (created_at, key), oldest first, or over
the event-log position for lists in log order."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID


class InvalidCursor(ValueError):
    """A cursor this API did not hand out (answered as 400)."""


def encode_cursor(row: dict[str, Any], key: str = "id") -> str:
    token = json.dumps([row["created_at"].isoformat(), str(row[key])])
    return base64.urlsafe_b64encode(token.encode()).decode()


def cursor_params(cursor: str | None, uuid_key: bool = True) -> dict[str, Any]:
    """The `after_at` and `after_key` parameters that `after()` expects; InvalidCursor if forged."""
    if not cursor:
        return {"after_at": None, "after_key": None}
    try:
        created_at, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return {
            "after_at": datetime.fromisoformat(created_at),
            "after_key": str(UUID(key)) if uuid_key else str(key),
        }
    except (TypeError, ValueError, binascii.Error, UnicodeDecodeError) as bad:
        raise InvalidCursor("the cursor is not one this API handed out") from bad


def after(key: str = "id", key_type: str = "uuid") -> str:
    """A WHERE condition: rows after the cursor's position (all rows without a cursor)."""
    return (
        f"(%(after_at)s::timestamptz IS NULL"
        f" OR (created_at, {key}) > (%(after_at)s::timestamptz, %(after_key)s::{key_type}))"
    )


def page(rows: list[dict[str, Any]], limit: int, key: str = "id") -> tuple[list[dict[str, Any]], str | None]:
    """Split a query's `limit + 1` rows into the page and the next page's cursor (None at the end)."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(rows[limit - 1], key)


def position_after(cursor: str | None) -> int:
    """For lists in event-log order: the log position a cursor stands at (0 without one)."""
    if not cursor:
        return 0
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as bad:
        raise InvalidCursor("the cursor is not one this API handed out") from bad
    if type(position) is not int or position < 0:
        raise InvalidCursor("the cursor is not one this API handed out")
    return position


def page_by_position(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Like `page`, for a query in log order whose rows carry their `position`."""
    if len(rows) <= limit:
        return rows, None
    token = json.dumps(rows[limit - 1]["position"])
    return rows[:limit], base64.urlsafe_b64encode(token.encode()).decode()
