"""A brand's lead groups: their reads and writes, and the contact reads a launch and a send need.

Importing contacts is its own use case (commands/audience/import_contacts.py, which writes
`contacts` and `lead_group_members`), and so is the suppression list (commands/audience/suppressions.py).
The tables are created by storage/migrations/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.errors import NotFound
from storage.database import Database
from storage.paging import after, cursor_params, page


def create_lead_group(db: Database, brand_id: UUID, name: str, now: datetime) -> dict[str, Any]:
    group_id = uuid4()
    db.execute(
        "INSERT INTO lead_groups (id, brand_id, name, created_at) VALUES (%s,%s,%s,%s)",
        (group_id, brand_id, name, now),
    )
    return lead_group(db, brand_id, group_id)


def lead_group(db: Database, brand_id: UUID, group_id: UUID) -> dict[str, Any]:
    row = db.fetch_one(
        """SELECT g.id, g.name, g.created_at, count(m.contact_id) AS contact_count
           FROM lead_groups g LEFT JOIN lead_group_members m ON m.lead_group_id = g.id
           WHERE g.id = %s AND g.brand_id = %s GROUP BY g.id""",
        (group_id, brand_id),
    )
    if row is None:
        raise NotFound(f"lead group {group_id}")
    return row


def lead_groups(
    db: Database, brand_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's lead groups, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT g.id, g.name, g.created_at,
               (SELECT count(*) FROM lead_group_members m WHERE m.lead_group_id = g.id) AS contact_count
           FROM (SELECT * FROM lead_groups WHERE brand_id = %(brand)s AND {after()}
                 ORDER BY created_at, id LIMIT %(limit)s) g
           ORDER BY g.created_at, g.id""",
        {"brand": brand_id, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)


def missing_lead_groups(db: Database, brand_id: UUID, group_ids: list[UUID]) -> list[UUID]:
    rows = db.fetch_all(
        "SELECT id FROM lead_groups WHERE brand_id = %s AND id = ANY(%s)", (brand_id, group_ids)
    )
    found = {row["id"] for row in rows}
    return [group_id for group_id in group_ids if group_id not in found]


def contacts_by_id(db: Database, contact_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = db.fetch_all(
        """SELECT id, email, phone, first_name, last_name, company, timezone, fields
           FROM contacts WHERE id = ANY(%s)""",
        (contact_ids,),
    )
    return {row["id"]: row for row in rows}
