"""Cron job: the daily quota reset at 00:00 UTC, which also advances every account's warm-up.

Idempotent by construction: an account is reset only if its last reset was before today, so a
second run, or a run on another machine at the same moment, changes nothing more. Days the
service was down still count towards warm-up. The warm-up arithmetic runs in 64 bits and is capped
by the daily limit, and one statement covers every account; should it fail all the same, each
account is reset on its own and a failing one is parked (storage/parked.py), so one brand's bad
row never keeps every other brand's quota from resetting.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from storage import containment, parked
from storage.database import Database

log = logging.getLogger(__name__)

FOLLOWER = "daily_reset"

RESET = """
    UPDATE sender_accounts SET
        warmup_day = LEAST(warmup_day::bigint + GREATEST(%(today)s - last_reset_on, 0), 100000),
        sends_today = 0,
        limit_today = CASE WHEN warmup_enabled
            THEN LEAST(daily_limit::bigint, warmup_start_limit::bigint + warmup_daily_increment::bigint
                       * (warmup_day::bigint + GREATEST(%(today)s - last_reset_on, 0)))
            ELSE daily_limit END,
        last_reset_on = %(today)s
    WHERE last_reset_on < %(today)s AND NOT (id = ANY(%(skip)s::uuid[]))"""


def reset_daily_quotas(db: Database, now: datetime) -> int:
    """Reset `sends_today` and advance warm-up for accounts not yet reset today; return how many."""
    today = now.astimezone(UTC).date()
    skip = sorted(parked.held_back(db, FOLLOWER))
    try:
        return db.execute(RESET, {"today": today, "skip": skip})
    except Exception as error:
        if containment.transient(error):
            raise
        log.warning("daily reset of every account at once failed (%s); resetting them one by one", error)
    due = db.fetch_all(
        "SELECT id, brand_id FROM sender_accounts WHERE last_reset_on < %s AND NOT (id = ANY(%s::uuid[]))",
        (today, skip),
    )

    def reset_one(account: dict[str, Any]) -> int:
        return db.execute(RESET + " AND id = %(id)s", {"today": today, "skip": [], "id": account["id"]})

    def brand(account: dict[str, Any]) -> UUID:
        brand_id: UUID = account["brand_id"]
        return brand_id

    return parked.each_contained(db, FOLLOWER, due, reset_one, key=lambda a: str(a["id"]), brand=brand)
