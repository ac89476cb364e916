"""Sender accounts (mailboxes and phone numbers) with their daily quotas and warm-up.

Quota is taken with one conditional UPDATE before the provider call, so concurrent workers can
never push an account past its limit; a permanent failure gives the unit back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from storage.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS sender_accounts (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    channel text NOT NULL,
    provider text NOT NULL,
    address text NOT NULL,
    daily_limit integer NOT NULL CHECK (daily_limit >= 0),
    warmup_enabled boolean NOT NULL DEFAULT false,
    warmup_start_limit integer NOT NULL DEFAULT 0,
    warmup_daily_increment integer NOT NULL DEFAULT 0,
    warmup_day integer NOT NULL DEFAULT 0,
    limit_today integer NOT NULL,
    sends_today integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL,
    UNIQUE (brand_id, channel, address),
    CHECK (sends_today <= limit_today)
)
"""

# Steps use the channel "voicemail"; the sender account for it is a "voice" number.
ACCOUNT_CHANNEL = {"email": "email", "sms": "sms", "voicemail": "voice"}
COLUMNS = """id, channel, provider, address, daily_limit, limit_today, sends_today, status,
             warmup_enabled, warmup_start_limit, warmup_daily_increment, created_at"""


def warmup_limit(daily_limit: int, enabled: bool, start: int, increment: int, day: int) -> int:
    """An account's limit today: its warm-up limit while warming up, else its daily limit."""
    return min(daily_limit, start + increment * day) if enabled else daily_limit


def register_sender_account(
    db: Database,
    brand_id: UUID,
    channel: str,
    provider: str,
    address: str,
    daily_limit: int,
    warmup: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    account_id = uuid4()
    enabled = bool(warmup.get("enabled", False))
    start, increment = int(warmup.get("start_limit", 10)), int(warmup.get("daily_increment", 5))
    db.execute(
        f"""INSERT INTO sender_accounts (id, brand_id, channel, provider, address, daily_limit,
            warmup_enabled, warmup_start_limit, warmup_daily_increment, limit_today, created_at)
            VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING {COLUMNS}""",
        (
            account_id,
            brand_id,
            channel,
            provider,
            address,
            daily_limit,
            enabled,
            start,
            increment,
            warmup_limit(daily_limit, enabled, start, increment, 0),
            now,
        ),
    )
    return sender_account(db, brand_id, account_id)


def sender_account(db: Database, brand_id: UUID, account_id: UUID) -> dict[str, Any]:
    row = db.fetch_one(
        f"SELECT {COLUMNS} FROM sender_accounts WHERE id = %s AND brand_id = %s",
        (account_id, brand_id),
    )
    assert row is not None
    return row


def sender_accounts(db: Database, brand_id: UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        f"SELECT {COLUMNS} FROM sender_accounts WHERE brand_id = %s ORDER BY created_at, id",
        (brand_id,),
    )


def channels_with_active_accounts(db: Database, brand_id: UUID) -> set[str]:
    rows = db.fetch_all(
        "SELECT DISTINCT channel FROM sender_accounts WHERE brand_id = %s AND status = 'active'",
        (brand_id,),
    )
    have = {row["channel"] for row in rows}
    return {step_channel for step_channel, acc in ACCOUNT_CHANNEL.items() if acc in have}


def claim_quota(
    db: Database, brand_id: UUID, channel: str, preferred: UUID | None = None
) -> dict[str, Any] | None:
    """Take one send from the preferred account if it has quota, else the one with most left."""
    with db.transaction() as cur:
        cur.execute(
            f"""UPDATE sender_accounts SET sends_today = sends_today + 1
                WHERE id = (
                    SELECT id FROM sender_accounts
                    WHERE brand_id = %s AND channel = %s AND status = 'active'
                      AND sends_today < limit_today
                    ORDER BY (id = %s) DESC, limit_today - sends_today DESC, id
                    LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND sends_today < limit_today
                RETURNING {COLUMNS}""",
            (brand_id, ACCOUNT_CHANNEL[channel], preferred),
        )
        return cur.fetchone()


def give_back_quota(db: Database, account_id: UUID) -> None:
    db.execute(
        "UPDATE sender_accounts SET sends_today = sends_today - 1 WHERE id = %s AND sends_today > 0",
        (account_id,),
    )
