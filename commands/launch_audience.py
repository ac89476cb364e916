"""The audience a launch reserved credits for: a snapshot taken at launch, enrolled in chunks.

Launch copies the eligible, non-suppressed contacts of the campaign's lead groups into
`launch_audiences`; credits are computed from that snapshot and the enrollment process enrols
exactly it, so contacts added to a lead group later never spend credits nobody reserved.
"""

from __future__ import annotations

from uuid import UUID

from storage.database import Database

DDL = [
    """
    CREATE TABLE IF NOT EXISTS launch_audiences (
        campaign_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        email text,
        phone text,
        PRIMARY KEY (campaign_id, contact_id)
    )""",
    """
    CREATE TABLE IF NOT EXISTS enrollment_progress (
        campaign_id uuid PRIMARY KEY,
        brand_id uuid NOT NULL,
        last_contact_id uuid,
        done boolean NOT NULL DEFAULT false
    )""",
]


def snapshot_audience(
    db: Database, brand_id: UUID, campaign_id: UUID, lead_group_ids: list[UUID]
) -> dict[str, int]:
    """Take (again) the launch snapshot; return eligible contacts per channel."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
        cur.execute(
            """INSERT INTO launch_audiences (campaign_id, contact_id, email, phone)
               SELECT DISTINCT %(campaign)s, c.id,
                   CASE WHEN se.address IS NULL THEN c.email END,
                   CASE WHEN sp.address IS NULL THEN c.phone END
               FROM lead_group_members m
               JOIN contacts c ON c.id = m.contact_id AND c.brand_id = %(brand)s
               LEFT JOIN suppressions se ON se.brand_id = c.brand_id AND se.address = c.email
               LEFT JOIN suppressions sp ON sp.brand_id = c.brand_id AND sp.address = c.phone
               WHERE m.lead_group_id = ANY(%(groups)s)""",
            {"campaign": campaign_id, "brand": brand_id, "groups": lead_group_ids},
        )
        cur.execute(
            "DELETE FROM launch_audiences WHERE campaign_id = %s AND email IS NULL AND phone IS NULL",
            (campaign_id,),
        )
        cur.execute(
            """INSERT INTO enrollment_progress (campaign_id, brand_id) VALUES (%s, %s)
               ON CONFLICT (campaign_id) DO UPDATE SET last_contact_id = NULL, done = false""",
            (campaign_id, brand_id),
        )
        cur.execute(
            """SELECT count(email) AS email, count(phone) AS phone
               FROM launch_audiences WHERE campaign_id = %s""",
            (campaign_id,),
        )
        counts = cur.fetchone() or {"email": 0, "phone": 0}
    return {"email": counts["email"], "sms": counts["phone"], "voicemail": counts["phone"]}


def discard_snapshot(db: Database, campaign_id: UUID) -> None:
    """A launch that was refused leaves nothing to enrol."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
        cur.execute("DELETE FROM enrollment_progress WHERE campaign_id = %s", (campaign_id,))


def campaigns_to_enrol(db: Database) -> list[UUID]:
    rows = db.fetch_all("SELECT campaign_id FROM enrollment_progress WHERE NOT done")
    return [row["campaign_id"] for row in rows]


def next_chunk(db: Database, campaign_id: UUID, size: int) -> list[dict]:
    return db.fetch_all(
        """SELECT a.contact_id, a.email, a.phone FROM launch_audiences a
           JOIN enrollment_progress p ON p.campaign_id = a.campaign_id
           WHERE a.campaign_id = %s
             AND (p.last_contact_id IS NULL OR a.contact_id > p.last_contact_id)
           ORDER BY a.contact_id LIMIT %s""",
        (campaign_id, size),
    )


def advance(db: Database, campaign_id: UUID, last_contact_id: UUID | None) -> None:
    if last_contact_id is None:
        db.execute("UPDATE enrollment_progress SET done = true WHERE campaign_id = %s", (campaign_id,))
    else:
        db.execute(
            "UPDATE enrollment_progress SET last_contact_id = %s WHERE campaign_id = %s",
            (last_contact_id, campaign_id),
        )
