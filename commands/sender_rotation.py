"""Taking sender quota for a send: rotation over the brand's accounts, with atomic conditional increments.

`sends_today` is incremented with one conditional UPDATE (`WHERE sends_today < limit_today`)
before the provider call, so no number of concurrent workers can push an account past its limit;
a send that fails for good, or never happened, gives its unit back.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from commands.sender_accounts import ACCOUNT_CHANNEL
from domain.sender_rotation import SenderQuota, rotation_order
from storage.database import Database

DDL = [
    """
    CREATE TABLE IF NOT EXISTS contact_senders (
        brand_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        channel text NOT NULL,
        sender_account_id uuid NOT NULL,
        PRIMARY KEY (brand_id, contact_id, channel)
    )""",
]


def claim_sender(
    db: Database, brand_id: UUID, channel: str, contact_id: UUID, providers: Collection[str] | None = None
) -> dict[str, Any] | None:
    """Take one send of quota from the best account for this contact; None when all are at cap.

    Only accounts whose provider has an adapter in this process (`providers`) are considered.
    """
    with db.transaction() as cur:
        cur.execute(
            """SELECT id, limit_today, sends_today, status FROM sender_accounts
               WHERE brand_id = %s AND channel = %s AND (%s::text[] IS NULL OR provider = ANY(%s::text[]))""",
            (brand_id, ACCOUNT_CHANNEL[channel], *(2 * [None if providers is None else list(providers)])),
        )
        accounts = [
            SenderQuota(row["id"], row["limit_today"], row["sends_today"], row["status"] == "active")
            for row in cur.fetchall()
        ]
        cur.execute(
            """SELECT sender_account_id FROM contact_senders
               WHERE brand_id = %s AND contact_id = %s AND channel = %s""",
            (brand_id, contact_id, channel),
        )
        previous = cur.fetchone()
    for account_id in rotation_order(accounts, previous["sender_account_id"] if previous else None):
        taken = db.fetch_one(
            """UPDATE sender_accounts SET sends_today = sends_today + 1
               WHERE id = %s AND status = 'active' AND sends_today < limit_today
               RETURNING id, provider, address""",
            (account_id,),
        )
        if taken is not None:
            return taken
    return None


def give_back(db: Database, account_id: UUID) -> None:
    db.execute(
        "UPDATE sender_accounts SET sends_today = sends_today - 1 WHERE id = %s AND sends_today > 0",
        (account_id,),
    )


def remember_senders(db: Database, brand_id: UUID, sends: list[tuple[UUID, str, UUID]]) -> None:
    """Keep (contact, channel) -> account of accepted sends, so the next send reuses the account."""
    if not sends:
        return
    with db.transaction() as cur:
        cur.executemany(
            """INSERT INTO contact_senders (brand_id, contact_id, channel, sender_account_id)
               VALUES (%s, %s, %s, %s) ON CONFLICT (brand_id, contact_id, channel)
               DO UPDATE SET sender_account_id = EXCLUDED.sender_account_id""",
            [(brand_id, contact, channel, account) for contact, channel, account in sends],
        )
