"""Lead groups, contacts and suppressions of a brand: their tables, and the lead groups' reads and writes.

Importing contacts is its own use case (commands/audience/import_contacts.py), and so is the suppression
list (commands/audience/suppressions.py); both write the tables declared here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.errors import NotFound
from storage.database import Database
from storage.paging import after, cursor_params, page

DDL = [
    """
    CREATE TABLE IF NOT EXISTS lead_groups (
        id uuid PRIMARY KEY,
        brand_id uuid NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS contacts (
        id uuid PRIMARY KEY,
        brand_id uuid NOT NULL,
        email text,
        phone text,
        first_name text,
        last_name text,
        company text,
        timezone text,
        fields jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL,
        UNIQUE (brand_id, email),
        UNIQUE (brand_id, phone)
    )""",
    """
    CREATE TABLE IF NOT EXISTS lead_group_members (
        lead_group_id uuid NOT NULL REFERENCES lead_groups(id),
        contact_id uuid NOT NULL REFERENCES contacts(id),
        PRIMARY KEY (lead_group_id, contact_id)
    )""",
    """
    CREATE TABLE IF NOT EXISTS suppressions (
        brand_id uuid NOT NULL,
        address text NOT NULL,
        reason text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (brand_id, address)
    )""",
    # Added after the first release: derived from the address, so older rows and writers need no change.
    """
    ALTER TABLE suppressions ADD COLUMN IF NOT EXISTS channel text
        GENERATED ALWAYS AS (CASE WHEN address LIKE '%@%' THEN 'email' ELSE 'phone' END) STORED""",
]


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
