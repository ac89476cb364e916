"""Keyset paging shared by every list: opaque cursors over (created_at, key), oldest first, or over
the event-log position for lists in log order."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any
from uuid import UUID

# What PostgreSQL's text cannot hold (NUL, an unpaired surrogate): a key carrying one was forged.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_POSITION = 2**63 - 1  # the event log's positions are PostgreSQL bigints


class InvalidCursor(ValueError):
    """A cursor this API did not hand out (answered as 400)."""


def _forged() -> InvalidCursor:
    return InvalidCursor("the cursor is not one this API handed out")


def _decoded(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError, binascii.Error, UnicodeDecodeError) as bad:
        raise _forged() from bad


def encode_cursor(row: dict[str, Any], key: str = "id") -> str:
    # UTF-8, not \u escapes: a key of 254 characters (the longest email) in any script stays
    # within the 2,000 characters a cursor may have (api/text.py's CursorText).
    token = json.dumps([row["created_at"].isoformat(), str(row[key])], ensure_ascii=False)
    return base64.urlsafe_b64encode(token.encode()).decode()


def cursor_params(cursor: str | None, uuid_key: bool = True) -> dict[str, Any]:
    """The `after_at` and `after_key` parameters that `after()` expects; InvalidCursor if forged."""
    if not cursor:
        return {"after_at": None, "after_key": None}
    decoded = _decoded(cursor)
    # Exactly what encode_cursor writes: [an aware ISO time, a key of storable text]; anything else
    # would reach PostgreSQL as a value it refuses (a NUL, a lone surrogate) and answer a 500.
    if not (type(decoded) is list and len(decoded) == 2 and all(type(part) is str for part in decoded)):
        raise _forged()
    created_at, key = decoded
    if _UNSTORABLE.search(key):
        raise _forged()
    try:
        after_at = datetime.fromisoformat(created_at)
        after_key = str(UUID(key)) if uuid_key else key
    except ValueError as bad:
        raise _forged() from bad
    if after_at.tzinfo is None:
        raise _forged()
    return {"after_at": after_at, "after_key": after_key}


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
    position = _decoded(cursor)
    if type(position) is not int or not 0 <= position <= MAX_POSITION:
        raise _forged()
    return position


def page_by_position(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Like `page`, for a query in log order whose rows carry their `position`."""
    if len(rows) <= limit:
        return rows, None
    token = json.dumps(rows[limit - 1]["position"])
    return rows[:limit], base64.urlsafe_b64encode(token.encode()).decode()
