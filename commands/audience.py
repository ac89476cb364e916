"""Lead groups and contacts of a brand: idempotent imports that report bad rows and keep good ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg.types.json import Jsonb

from commands.application import NotFound
from storage.database import Database

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
]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROFILE = ("first_name", "last_name", "company", "timezone")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)


def normalise_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    email = raw.strip().lower()
    if not EMAIL.match(email):
        raise ValueError(f"invalid email {raw!r}")
    return email


def normalise_phone(raw: str | None) -> str | None:
    """E.164: a plus sign and 8 to 15 digits; spaces, dots, dashes and brackets are dropped."""
    if raw is None or not raw.strip():
        return None
    phone = re.sub(r"[\s().-]", "", raw.strip())
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", phone):
        raise ValueError(f"invalid phone {raw!r}: expected an E.164 number such as +14155550100")
    return phone


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


def lead_groups(db: Database, brand_id: UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        """SELECT g.id, g.name, g.created_at, count(m.contact_id) AS contact_count
           FROM lead_groups g LEFT JOIN lead_group_members m ON m.lead_group_id = g.id
           WHERE g.brand_id = %s GROUP BY g.id ORDER BY g.created_at, g.id""",
        (brand_id,),
    )


def missing_lead_groups(db: Database, brand_id: UUID, group_ids: list[UUID]) -> list[UUID]:
    rows = db.fetch_all(
        "SELECT id FROM lead_groups WHERE brand_id = %s AND id = ANY(%s)", (brand_id, group_ids)
    )
    found = {row["id"] for row in rows}
    return [group_id for group_id in group_ids if group_id not in found]


def import_contacts(
    db: Database, brand_id: UUID, group_id: UUID, rows: list[dict[str, Any]], now: datetime
) -> ImportReport:
    """Upsert contacts (same email or phone in a brand = same contact) and add them to the group."""
    lead_group(db, brand_id, group_id)
    report = ImportReport()
    with db.transaction() as cur:
        for number, row in enumerate(rows, start=1):
            try:
                email = normalise_email(row.get("email"))
                phone = normalise_phone(row.get("phone"))
                if not (email or phone):
                    raise ValueError("a contact needs an email or a phone")
            except ValueError as bad:
                report.invalid.append({"row": number, "error": str(bad)})
                continue
            profile = {key: row.get(key) for key in PROFILE}
            fields = dict(row.get("fields") or {})
            cur.execute(
                """SELECT id, email, phone, first_name, last_name, company, timezone, fields
                   FROM contacts WHERE brand_id = %s AND (email = %s OR phone = %s)
                   ORDER BY id LIMIT 1""",
                (brand_id, email, phone),
            )
            existing = cur.fetchone()
            if existing is None:
                contact_id = uuid4()
                cur.execute(
                    """INSERT INTO contacts (id, brand_id, email, phone, first_name, last_name,
                       company, timezone, fields, created_at)
                       VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""",
                    (contact_id, brand_id, email, phone, *profile.values(), Jsonb(fields), now),
                )
                report.added += 1
            else:
                contact_id = existing["id"]
                merged = {
                    "email": email or existing["email"],
                    "phone": phone or existing["phone"],
                    **{key: profile[key] or existing[key] for key in PROFILE},
                    "fields": {**existing["fields"], **fields},
                }
                if any(merged[key] != existing[key] for key in merged):
                    cur.execute(
                        """UPDATE contacts SET email=%s, phone=%s, first_name=%s, last_name=%s,
                           company=%s, timezone=%s, fields=%s WHERE id=%s""",
                        (*list(merged.values())[:-1], Jsonb(merged["fields"]), contact_id),
                    )
                    report.updated += 1
            cur.execute(
                """INSERT INTO lead_group_members (lead_group_id, contact_id) VALUES (%s,%s)
                   ON CONFLICT DO NOTHING""",
                (group_id, contact_id),
            )
    return report


def contacts_by_id(db: Database, contact_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = db.fetch_all(
        """SELECT id, email, phone, first_name, last_name, company, timezone, fields
           FROM contacts WHERE id = ANY(%s)""",
        (contact_ids,),
    )
    return {row["id"]: row for row in rows}
