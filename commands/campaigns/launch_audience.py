"""The audience a launch reserved credits for: a snapshot taken at launch, enrolled in chunks.

Launch copies the eligible, non-suppressed contacts of the campaign's lead groups into
`launch_audiences`; credits are computed from that snapshot and the enrollment process enrolls
exactly it, so contacts added to a lead group later never spend credits nobody reserved.
Taking and discarding a snapshot both hold the campaign's advisory lock and re-check that the
campaign is still a DRAFT: a launch that lost a race to another launch of the same campaign can
neither replace nor discard the audience the winner reserved for. An erased person's suppression
keeps only the brand's keyed hash of the address (docs/personal-data.md), so when the brand has
erased anyone, the snapshot's addresses are hashed too and an erased person imported again is
neither counted nor reserved for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg import sql

from commands.sending.personalisation import CONTACT_COLUMNS
from domain.errors import IllegalTransition
from storage.database import Database
from storage.event_json import ERASED

# The brand's keyed hash of a normalised address (None when personal data are not sealed).
AddressHash = Callable[[str], str | None]

# The launch audience: each contact of the lead groups once, an address blanked when suppressed.
ELIGIBLE_AUDIENCE = """
    SELECT DISTINCT c.id AS contact_id, c.timezone,
        CASE WHEN se.address IS NULL THEN c.email END AS email,
        CASE WHEN sp.address IS NULL THEN c.phone END AS phone
    FROM lead_group_members m
    JOIN contacts c ON c.id = m.contact_id AND c.brand_id = %(brand)s
    LEFT JOIN suppressions se ON se.brand_id = c.brand_id AND se.address = c.email
    LEFT JOIN suppressions sp ON sp.brand_id = c.brand_id AND sp.address = c.phone
    WHERE m.lead_group_id = ANY(%(groups)s)"""


def snapshot_audience(
    db: Database,
    brand_id: UUID,
    campaign_id: UUID,
    lead_group_ids: list[UUID],
    still_draft: Callable[[], bool],
    address_hash: AddressHash | None = None,
) -> dict[str, int]:
    """Take (again) the launch snapshot; return eligible contacts per channel.

    IllegalTransition, changing nothing, when `still_draft()` says another launch got there first.
    """
    with db.transaction() as cur:
        _lock(cur, campaign_id)
        if not still_draft():
            raise IllegalTransition("the campaign was launched meanwhile")
        cur.execute("DELETE FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
        cur.execute(
            """INSERT INTO launch_audiences (campaign_id, contact_id, timezone, email, phone)
               SELECT %(campaign)s, contact_id, timezone, email, phone FROM ("""
            + ELIGIBLE_AUDIENCE
            + ") eligible",
            {"campaign": campaign_id, "brand": brand_id, "groups": lead_group_ids},
        )
        _blank_erased(cur, brand_id, campaign_id, address_hash)
        cur.execute(
            "DELETE FROM launch_audiences WHERE campaign_id = %s AND email IS NULL AND phone IS NULL",
            (campaign_id,),
        )
        cur.execute(
            """INSERT INTO enrollment_progress (campaign_id, brand_id) VALUES (%s, %s)
               ON CONFLICT (campaign_id) DO UPDATE SET last_contact_id = NULL, done = false, enrolled = 0""",
            (campaign_id, brand_id),
        )
        cur.execute(
            """SELECT count(email) AS email, count(phone) AS phone
               FROM launch_audiences WHERE campaign_id = %s""",
            (campaign_id,),
        )
        counts = cur.fetchone() or {"email": 0, "phone": 0}
    return {"email": counts["email"], "sms": counts["phone"], "voicemail": counts["phone"]}


def count_eligible(
    db: Database, brand_id: UUID, lead_group_ids: list[UUID], address_hash: AddressHash | None = None
) -> dict[str, int]:
    """What `snapshot_audience` would return now, read-only: eligible contacts per channel."""
    params = {"brand": brand_id, "groups": lead_group_ids}
    erased = _erased_hashes(db.fetch_all, brand_id) if address_hash else set()
    if erased and address_hash:
        rows = db.fetch_all(ELIGIBLE_AUDIENCE, params)
        email = sum(1 for r in rows if r["email"] is not None and address_hash(r["email"]) not in erased)
        phone = sum(1 for r in rows if r["phone"] is not None and address_hash(r["phone"]) not in erased)
        return {"email": email, "sms": phone, "voicemail": phone}
    counts = db.fetch_one(
        "SELECT count(email) AS email, count(phone) AS phone FROM (" + ELIGIBLE_AUDIENCE + ") eligible",
        params,
    ) or {"email": 0, "phone": 0}
    return {"email": counts["email"], "sms": counts["phone"], "voicemail": counts["phone"]}


def _erased_hashes(fetch_all: Callable[..., list[dict[str, Any]]], brand_id: UUID) -> set[str]:
    """The keyed hashes of the brand's suppressed addresses that only a hash still names (erased)."""
    rows = fetch_all(
        """SELECT address_hash FROM suppressions
           WHERE brand_id = %s AND address_hash IS NOT NULL AND starts_with(address, %s)""",
        (brand_id, f"{ERASED}-"),
    )
    return {row["address_hash"] for row in rows}


def _blank_erased(cur: Any, brand_id: UUID, campaign_id: UUID, address_hash: AddressHash | None) -> None:
    """Blank each snapshot address whose keyed hash an erased person's suppression holds."""
    if address_hash is None:
        return

    def fetch_all(query: str, params: Any) -> list[dict[str, Any]]:
        cur.execute(query, params)
        return list(cur.fetchall())

    erased = _erased_hashes(fetch_all, brand_id)
    if not erased:
        return
    rows = fetch_all(
        "SELECT contact_id, email, phone FROM launch_audiences WHERE campaign_id = %s", (campaign_id,)
    )
    for field in ("email", "phone"):
        hit = [(r["contact_id"],) for r in rows if r[field] is not None and address_hash(r[field]) in erased]
        if hit:
            cur.executemany(
                f"UPDATE launch_audiences SET {field} = NULL WHERE campaign_id = %s AND contact_id = %s",
                [(campaign_id, contact_id) for (contact_id,) in hit],
            )


def contacts_missing_field(
    db: Database, campaign_id: UUID, field: str, channels: set[str], limit: int
) -> tuple[int, list[UUID]]:
    """Snapshot contacts reached on `channels` whose `field` is empty: how many, and the first ids.
    A contact column when it has a value, else the custom field (as placeholders read them)."""
    column = field if field in CONTACT_COLUMNS else None
    value = sql.SQL("COALESCE(NULLIF({}::text, ''), NULLIF(c.fields->>{}, ''))").format(
        sql.Identifier("c", column) if column else sql.SQL("NULL"), sql.Literal(field)
    )
    rows = db.fetch_all(
        sql.SQL(
            """SELECT a.contact_id, count(*) OVER () AS total FROM launch_audiences a
               JOIN contacts c ON c.id = a.contact_id
               WHERE a.campaign_id = %(campaign)s AND {value} IS NULL
                 AND ((%(email)s AND a.email IS NOT NULL) OR (%(phone)s AND a.phone IS NOT NULL))
               ORDER BY a.contact_id LIMIT %(limit)s"""
        ).format(value=value),
        {
            "campaign": campaign_id,
            "email": "email" in channels,
            "phone": bool(channels & {"sms", "voicemail"}),
            "limit": limit,
        },
    )
    return (rows[0]["total"] if rows else 0), [row["contact_id"] for row in rows]


def discard_snapshot(db: Database, campaign_id: UUID, still_draft: Callable[[], bool]) -> bool:
    """A launch that was refused leaves nothing to enroll, unless another launch of it won meanwhile."""
    with db.transaction() as cur:
        _lock(cur, campaign_id)
        if not still_draft():
            return False
        cur.execute("DELETE FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
        cur.execute("DELETE FROM enrollment_progress WHERE campaign_id = %s", (campaign_id,))
    return True


def _lock(cur: Any, campaign_id: UUID) -> None:
    """One snapshot change per campaign at a time (released when the transaction ends)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"launch-audience:{campaign_id}",))


def campaigns_to_enrol(db: Database) -> dict[UUID, UUID]:
    """Campaigns whose launch audience is still being enrolled, with their brands."""
    rows = db.fetch_all("SELECT campaign_id, brand_id FROM enrollment_progress WHERE NOT done")
    return {row["campaign_id"]: row["brand_id"] for row in rows}


def next_chunk(db: Database, campaign_id: UUID, size: int) -> list[dict[str, Any]]:
    return db.fetch_all(
        """SELECT a.contact_id, a.email, a.phone, a.timezone FROM launch_audiences a
           JOIN enrollment_progress p ON p.campaign_id = a.campaign_id
           WHERE a.campaign_id = %s
             AND (p.last_contact_id IS NULL OR a.contact_id > p.last_contact_id)
           ORDER BY a.contact_id LIMIT %s""",
        (campaign_id, size),
    )


def advance(db: Database, campaign_id: UUID, last_contact_id: UUID | None, enrolled: int = 0) -> None:
    """Move the cursor past a saved chunk (counting its enrollments), or mark enrolling done."""
    if last_contact_id is None:
        db.execute("UPDATE enrollment_progress SET done = true WHERE campaign_id = %s", (campaign_id,))
    else:
        db.execute(
            """UPDATE enrollment_progress SET last_contact_id = %s, enrolled = enrolled + %s
               WHERE campaign_id = %s""",
            (last_contact_id, enrolled, campaign_id),
        )


def fully_enrolled(db: Database) -> dict[UUID, int]:
    """Campaigns whose whole launch audience is enrolled, with how many enrollments that made."""
    rows = db.fetch_all("SELECT campaign_id, enrolled FROM enrollment_progress WHERE done")
    return {row["campaign_id"]: row["enrolled"] for row in rows}
