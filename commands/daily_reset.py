"""Cron job: the daily quota reset at 00:00 UTC, which also advances every account's warm-up.

Idempotent by construction: an account is reset only if its last reset was before today, so a
second run, or a run on another machine at the same moment, changes nothing more. Days the
service was down still count towards warm-up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.database import Database

DDL = [
    """ALTER TABLE sender_accounts
       ADD COLUMN IF NOT EXISTS last_reset_on date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date""",
]


def reset_daily_quotas(db: Database, now: datetime) -> int:
    """Reset `sends_today` and advance warm-up for accounts not yet reset today; return how many."""
    today = now.astimezone(UTC).date()
    return db.execute(
        """UPDATE sender_accounts SET
               warmup_day = warmup_day + GREATEST(%(today)s - last_reset_on, 0),
               sends_today = 0,
               limit_today = CASE WHEN warmup_enabled
                   THEN LEAST(daily_limit, warmup_start_limit + warmup_daily_increment
                              * (warmup_day + GREATEST(%(today)s - last_reset_on, 0)))
                   ELSE daily_limit END,
               last_reset_on = %(today)s
           WHERE last_reset_on < %(today)s""",
        {"today": today},
    )
