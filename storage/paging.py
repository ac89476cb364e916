"""Keyset paging shared by every list: opaque cursors over (created_at, id), oldest first."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID


def encode_cursor(row: dict[str, Any]) -> str:
    token = json.dumps([row["created_at"].isoformat(), str(row["id"])])
    return base64.urlsafe_b64encode(token.encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime | None, UUID | None]:
    """The (created_at, id) a page ended at; ValueError for anything this API did not hand out."""
    if not cursor:
        return None, None
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), UUID(row_id)
    except (TypeError, ValueError, binascii.Error, UnicodeDecodeError) as bad:
        raise ValueError("not a cursor this API handed out") from bad


def page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Split a query's `limit + 1` rows into the page and the cursor of the next one (None at the end)."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(rows[limit - 1])


# Add to a WHERE clause with the parameters `after_at` and `after_id` from decode_cursor.
AFTER = "(%(after_at)s::timestamptz IS NULL OR (created_at, id) > (%(after_at)s, %(after_id)s))"
