"""How far the reply poller has read each Gmail mailbox: the last `historyId` it handled.

Gmail numbers every change in a mailbox; `users.history.list` answers the changes after a given
id. The poller stores the id it reached once every message up to it was handled, so a crash
between the two only makes the next poll see some messages again, which changes nothing (a
reply, a bounce and a suppression are each recorded once).
"""

from __future__ import annotations

from uuid import UUID

from storage.database import Database


def last_read(db: Database, account_id: UUID) -> str | None:
    row = db.fetch_one("SELECT history_id FROM gmail_history WHERE sender_account_id = %s", (account_id,))
    return str(row["history_id"]) if row else None


def read_up_to(db: Database, account_id: UUID, history_id: str) -> None:
    db.execute(
        """INSERT INTO gmail_history (sender_account_id, history_id) VALUES (%s, %s)
           ON CONFLICT (sender_account_id) DO UPDATE
           SET history_id = EXCLUDED.history_id, updated_at = now()""",
        (account_id, history_id),
    )
