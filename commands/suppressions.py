"""A brand's suppression list: email addresses and phone numbers that must never be contacted.

Launch leaves suppressed addresses out of the audience it reserves credits for
(commands/launch_audience.py), so an address is stored exactly as contacts store it (normalised
by commands/contact_normalisation.py). `suppress` is the one way in: the API calls it, and so do
STOP keywords, unsubscribes and bounces. Adding an address twice keeps the first entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import NotFound
from commands.contact_normalisation import normalise_address
from storage.database import Database
from storage.paging import after, cursor_params, page

COLUMNS = "address, channel, reason, created_at"


@dataclass(frozen=True)
class Suppressed:
    entry: dict[str, Any]
    created: bool  # False when the address was already on the list


def suppress(
    db: Database, brand_id: UUID, address: str, reason: str, now: datetime, region: str = "US"
) -> Suppressed:
    """Put the address on the brand's list (ValueError if it is not an email or a phone number)."""
    normalised, _ = normalise_address(address, region)
    # The no-op update makes a re-add answer the first entry; xmax = 0 only on a fresh insert.
    row = db.fetch_one(
        f"""INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, %s, %s, %s)
            ON CONFLICT (brand_id, address) DO UPDATE SET reason = suppressions.reason
            RETURNING {COLUMNS}, (xmax = 0) AS created""",
        (brand_id, normalised, reason, now),
    )
    assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns the row
    created = row.pop("created")
    return Suppressed(row, created)


def unsuppress(db: Database, brand_id: UUID, address: str, region: str = "US") -> None:
    """Take the address off the list; NotFound if it was not on it."""
    normalised, _ = normalise_address(address, region)
    removed = db.execute(
        "DELETE FROM suppressions WHERE brand_id = %s AND address = %s", (brand_id, normalised)
    )
    if not removed:
        raise NotFound(f"suppression of {normalised}")


def suppressions(
    db: Database, brand_id: UUID, limit: int, cursor: str | None, channel: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the list, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT {COLUMNS} FROM suppressions
            WHERE brand_id = %(brand)s AND (%(channel)s::text IS NULL OR channel = %(channel)s)
              AND {after("address", "text")}
            ORDER BY created_at, address LIMIT %(limit)s""",
        {"brand": brand_id, "channel": channel, "limit": limit + 1, **cursor_params(cursor, uuid_key=False)},
    )
    return page(rows, limit, key="address")
