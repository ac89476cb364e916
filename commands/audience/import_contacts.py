"""Use case: import contacts into a lead group, idempotently, keeping the good rows and reporting the bad.

Rows are read lazily and written in chunks of 1,000 (one lookup, a COPY of the new contacts and
memberships, the changed contacts in one pipelined batch), so a 100,000-row file imports in bounded
memory inside one transaction. Every row is validated before anything is written, so a bad row never
aborts the others. The same email or
phone within a brand is the same contact; a row whose email is one contact's and whose phone is
another's is reported, not merged. Imports of one brand take turns (an advisory lock), so two
uploads of the same new address cannot both create it. Memory stays bounded whatever the file
holds: the report keeps the first MAX_REPORTED bad rows and a count of all, and an upload of more
than MAX_ROWS rows is refused whole (TooManyRows), its transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.types.json import Jsonb

from commands.audience.contact_rows import PROFILE, Contact, parse_contact
from domain.errors import InvalidInput, NotFound
from storage.database import Database

CHUNK_SIZE = 1000
BRAND_IMPORT_LOCK = 7101  # advisory lock class: one import at a time per brand
CONTACT_COLUMNS = ("email", "phone", *PROFILE)
MAX_ROWS = 1_000_000  # rows an upload may hold, blank CSV lines included
MAX_REPORTED = 1_000  # bad rows the report lists (the lowest row numbers); it counts all of them

# One index probe per address (LATERAL ... LIMIT 1): a join or `= ANY` would let the planner scan
# the brand's contacts for every chunk whenever the table's statistics are behind the import.
_PROBE = """SELECT c.* FROM unnest(%({column}s)s::text[]) AS wanted(address)
    CROSS JOIN LATERAL (
        SELECT id, email, phone, first_name, last_name, company, timezone, fields,
               EXISTS (SELECT 1 FROM lead_group_members m
                       WHERE m.lead_group_id = %(group)s AND m.contact_id = contacts.id) AS member
        FROM contacts WHERE brand_id = %(brand)s AND {column} = wanted.address LIMIT 1) c"""
MATCHING_CONTACTS = _PROBE.format(column="email") + "\nUNION ALL\n" + _PROBE.format(column="phone")


class TooManyRows(InvalidInput):
    """The upload holds more rows than one import takes; nothing of it is stored."""


@dataclass
class ImportReport:
    """What an import did: `invalid` lists the first MAX_REPORTED bad rows, `invalid_count` all."""

    added: int = 0
    updated: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)
    invalid_count: int = 0

    def refuse(self, row: int, error: str) -> None:
        self.invalid_count += 1
        self.invalid.append({"row": row, "error": error})

    def keep_first(self) -> None:
        """Trim `invalid` to its lowest row numbers: called after each chunk, so at most two chunks'
        worth of errors are ever held."""
        self.invalid.sort(key=lambda entry: entry["row"])
        del self.invalid[MAX_REPORTED:]


@dataclass
class _Writes:
    inserts: list[tuple[UUID, Contact]] = field(default_factory=list)
    updates: list[tuple[UUID, dict[str, Any]]] = field(default_factory=list)
    members: list[UUID] = field(default_factory=list)


def import_contacts(
    db: Database,
    brand_id: UUID,
    group_id: UUID,
    rows: Iterable[Mapping[Any, Any]],
    now: datetime,
    region: str = "US",
    chunk_size: int = CHUNK_SIZE,
    max_rows: int = MAX_ROWS,
) -> ImportReport:
    """Upsert the rows (numbered from 1; an empty mapping, a blank CSV line, is skipped).

    TooManyRows, with nothing written, when there are more than `max_rows`."""
    report = ImportReport()
    with db.transaction() as cur:
        cur.execute("SELECT 1 FROM lead_groups WHERE id = %s AND brand_id = %s", (group_id, brand_id))
        if cur.fetchone() is None:
            raise NotFound(f"lead group {group_id}")
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (BRAND_IMPORT_LOCK, str(brand_id)))
        numbered = enumerate(rows, start=1)
        while chunk := list(islice(numbered, chunk_size)):
            pending: list[tuple[int, Contact]] = []
            if chunk[-1][0] > max_rows:  # raised inside the transaction: every write is rolled back
                raise TooManyRows(
                    f"an upload holds at most {max_rows:,} rows (blank lines count); this one has more: "
                    "nothing was imported, split the file"
                )
            for number, row in chunk:
                if not row:
                    continue
                try:
                    pending.append((number, parse_contact(row, region)))
                except ValueError as bad:
                    report.refuse(number, str(bad))
            while pending:  # rows that touch the same contact go in later rounds, in file order
                pending = _upsert_round(cur, brand_id, group_id, pending, now, report)
            report.keep_first()
    return report


def _upsert_round(
    cur: psycopg.Cursor[dict[str, Any]],
    brand_id: UUID,
    group_id: UUID,
    rows: list[tuple[int, Contact]],
    now: datetime,
    report: ImportReport,
) -> list[tuple[int, Contact]]:
    """Write the rows that share no address and no contact with an earlier row; return the rest."""
    cur.execute(
        MATCHING_CONTACTS,
        {
            "brand": brand_id,
            "group": group_id,
            "emails": [contact.email for _, contact in rows if contact.email],
            "phones": [contact.phone for _, contact in rows if contact.phone],
        },
    )
    found = cur.fetchall()
    by_email = {row["email"]: row for row in found if row["email"]}
    by_phone = {row["phone"]: row for row in found if row["phone"]}
    writes, later = _Writes(), []
    claimed: set[tuple[str, str | None] | UUID] = set()
    for number, contact in rows:
        keys = {("email", contact.email), ("phone", contact.phone)} - {("email", None), ("phone", None)}
        by_mail, by_number = by_email.get(contact.email), by_phone.get(contact.phone)
        matched = {row["id"] for row in (by_mail, by_number) if row}
        touched = keys | matched
        blocked = bool(touched & claimed)
        claimed |= touched  # a deferred row still blocks later rows that touch its contact
        if blocked:
            later.append((number, contact))
            continue
        if by_mail and by_number and by_mail["id"] != by_number["id"]:
            report.refuse(
                number,
                f"email {contact.email} is one contact's and phone {contact.phone} "
                "another's; not merged (fix the row or the contacts)",
            )
            continue
        existing = by_mail or by_number
        if existing is None:
            contact_id = uuid4()
            writes.inserts.append((contact_id, contact))
            writes.members.append(contact_id)
            report.added += 1
            continue
        merged = _merged(existing, contact)
        if any(merged[key] != existing[key] for key in merged):
            writes.updates.append((existing["id"], merged))
            report.updated += 1
        if not existing["member"]:
            writes.members.append(existing["id"])
    _write(cur, brand_id, group_id, writes, now)
    return later


def _merged(existing: dict[str, Any], contact: Contact) -> dict[str, Any]:
    """The row's values win; what the row leaves blank is kept; custom fields are merged."""
    given = {"email": contact.email, "phone": contact.phone, **contact.profile()}
    merged = {key: given[key] or existing[key] for key in CONTACT_COLUMNS}
    return {**merged, "fields": {**existing["fields"], **contact.fields}}


def _write(
    cur: psycopg.Cursor[dict[str, Any]], brand_id: UUID, group_id: UUID, writes: _Writes, now: datetime
) -> None:
    if writes.updates:
        cur.executemany(
            """UPDATE contacts SET email = %s, phone = %s, first_name = %s, last_name = %s, company = %s,
                   timezone = %s, fields = %s WHERE id = %s""",
            [
                (*(m[key] for key in CONTACT_COLUMNS), Jsonb(m["fields"]), contact_id)
                for contact_id, m in writes.updates
            ],
        )
    # COPY: the fastest way in; nothing can conflict, as the rows were matched under the brand's lock.
    if writes.inserts:
        with cur.copy(
            """COPY contacts (id, brand_id, email, phone, first_name, last_name, company, timezone,
                              fields, created_at) FROM STDIN"""
        ) as copy:
            for contact_id, c in writes.inserts:
                copy.write_row(
                    (contact_id, brand_id, c.email, c.phone, *c.profile().values(), Jsonb(c.fields), now)
                )
    if writes.members:
        with cur.copy("COPY lead_group_members (lead_group_id, contact_id) FROM STDIN") as copy:
            for contact_id in writes.members:
                copy.write_row((group_id, contact_id))
