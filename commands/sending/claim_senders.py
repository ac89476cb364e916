"""Use case: claim sender accounts for a batch's sends, taking one unit of quota each, atomically.

A batch's quota is taken in one transaction that locks the brand's accounts of the channel and
moves their `sends_today` before any provider call, so no number of concurrent workers can push an
account past its limit (a CHECK constraint guards it too); a send that fails for good, or never
happened, gives its unit back. Which account each contact gets is the domain's pure choice
(domain/sender_choice.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any
from uuid import UUID

from commands.sending.sender_accounts import ACCOUNT_CHANNEL, SenderAccount
from domain.sender_choice import SenderQuota, rotation_order
from storage.database import Database


def claim_senders(
    db: Database,
    brand_id: UUID,
    channel: str,
    contact_ids: list[UUID],
    providers: Collection[str] | None = None,
) -> dict[UUID, SenderAccount | None]:
    """Take one send of quota for each contact, from its best account; None where all are at cap.

    One transaction for the whole batch: the brand's accounts of the channel are locked (in id
    order, so concurrent workers queue rather than deadlock), each contact gets the first account
    of its rotation with quota left, and the counters move with one UPDATE. Only accounts whose
    provider has an adapter in this process (`providers`) are considered.
    """
    wanted = list(dict.fromkeys(contact_ids))
    with db.transaction() as cur:
        cur.execute(
            """SELECT id, provider, address, limit_today, sends_today, status FROM sender_accounts
               WHERE brand_id = %(brand)s AND channel = %(channel)s
                 AND (%(providers)s::text[] IS NULL OR provider = ANY(%(providers)s::text[]))
               ORDER BY id FOR UPDATE""",
            {
                "brand": brand_id,
                "channel": ACCOUNT_CHANNEL[channel],
                "providers": providers and list(providers),
            },
        )
        rows = {row["id"]: row for row in cur.fetchall()}
        cur.execute(
            """SELECT contact_id, sender_account_id FROM contact_senders
               WHERE brand_id = %s AND channel = %s AND contact_id = ANY(%s)""",
            (brand_id, channel, wanted),
        )
        previous = {row["contact_id"]: row["sender_account_id"] for row in cur.fetchall()}
        used = Counter[UUID]()
        chosen: dict[UUID, dict[str, Any] | None] = {}
        for contact_id in wanted:
            quotas = [
                SenderQuota(i, r["limit_today"], r["sends_today"] + used[i], r["status"] == "active")
                for i, r in rows.items()
            ]
            order = rotation_order(quotas, previous.get(contact_id))
            chosen[contact_id] = rows[order[0]] if order else None
            if order:
                used[order[0]] += 1
        if used:
            cur.executemany(
                "UPDATE sender_accounts SET sends_today = sends_today + %s WHERE id = %s",
                [(count, account_id) for account_id, count in used.items()],
            )
    return {
        contact_id: SenderAccount(row["id"], row["provider"], row["address"]) if row else None
        for contact_id, row in chosen.items()
    }


def give_back(db: Database, account_id: UUID, count: int = 1) -> None:
    db.execute(
        "UPDATE sender_accounts SET sends_today = GREATEST(sends_today - %s, 0) WHERE id = %s",
        (count, account_id),
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
