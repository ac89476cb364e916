"""Use case: each brand's retention of message bodies and provider payloads, enforced by the cron.

What the service keeps of a message only for debugging (the sandbox outbox's subject and body, the
body of a text Twilio was asked to send, the sandbox's refusals) is forgotten once older than the
brand's `message_days` (DEFAULT_DAYS without a setting): outbox rows and refusals are deleted, a
text's body is set to NULL (its row stays: it is how a send is never made twice). The events, and
so the history and the audits, keep none of these. The daily cron calls `forget_old_messages`, a
bounded batch per table a pass, so one pass never holds a long lock; running it twice changes
nothing more.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.errors import InvalidInput
from storage.database import Database

DEFAULT_DAYS = 90
MOST_DAYS = 3650
MOST_FORGOTTEN = 10_000  # rows of each table a pass forgets at most


def retention_days(db: Database, brand_id: UUID) -> int:
    row = db.fetch_one("SELECT message_days FROM brand_retention_settings WHERE brand_id = %s", (brand_id,))
    return int(row["message_days"]) if row else DEFAULT_DAYS


def set_retention_days(db: Database, brand_id: UUID, days: int, now: datetime) -> int:
    """Keep the brand's message bodies and provider payloads `days` days (1..MOST_DAYS)."""
    if not 1 <= days <= MOST_DAYS:
        raise InvalidInput(
            f"message bodies are kept 1 to {MOST_DAYS} days, not {days}",
            [{"field": "message_days", "error": f"between 1 and {MOST_DAYS}"}],
        )
    db.execute(
        """INSERT INTO brand_retention_settings (brand_id, message_days, updated_at) VALUES (%s, %s, %s)
           ON CONFLICT (brand_id) DO UPDATE SET message_days = EXCLUDED.message_days, updated_at = EXCLUDED.updated_at""",
        (brand_id, days, now),
    )
    return days


_KEPT = "make_interval(days => COALESCE(r.message_days, %(default)s))"


def forget_old_messages(db: Database, now: datetime) -> int:
    """Forget what is older than its brand's retention, a bounded batch per table; how many rows."""
    params = {"now": now, "default": DEFAULT_DAYS, "most": MOST_FORGOTTEN}
    outbox = db.execute(
        f"""DELETE FROM sandbox_outbox WHERE seq = ANY(ARRAY(
               SELECT o.seq FROM sandbox_outbox o
               LEFT JOIN brand_retention_settings r ON r.brand_id = o.brand_id
               WHERE o.sent_at < %(now)s - {_KEPT} LIMIT %(most)s))""",
        params,
    )
    texts = db.execute(
        f"""UPDATE twilio_sends SET body = NULL WHERE message_key = ANY(ARRAY(
               SELECT t.message_key FROM twilio_sends t
               JOIN sender_accounts a ON a.id = t.sender_account_id
               LEFT JOIN brand_retention_settings r ON r.brand_id = a.brand_id
               WHERE t.body IS NOT NULL AND t.attempted_at < %(now)s - {_KEPT} LIMIT %(most)s))""",
        params,
    )
    refusals = db.execute(  # a refusal names no brand: kept the default time
        """DELETE FROM sandbox_refusals WHERE seq = ANY(ARRAY(
               SELECT seq FROM sandbox_refusals WHERE refused_at < %(now)s - make_interval(days => %(default)s)
               LIMIT %(most)s))""",
        params,
    )
    return outbox + texts + refusals
