"""Use case: what a provider adapter learns about a sender account's health while sending.

A mailbox whose OAuth grant was revoked or expired cannot send until its owner connects it again:
its status becomes `reconnect_required`, which the rotation (commands/sending/sender_rotation.py)
skips, so the brand's other accounts take its steps. A mailbox that reached the provider's own
daily limit is parked for the rest of the day: its `sends_today` is set to its limit, and the
daily reset (commands/sending/daily_reset.py) opens it again at midnight UTC.
"""

from __future__ import annotations

import logging
from uuid import UUID

from storage.database import Database

RECONNECT_REQUIRED = "reconnect_required"

log = logging.getLogger(__name__)


def require_reconnect(db: Database, account_id: UUID, reason: str) -> None:
    """Take the account out of rotation until its owner connects it again."""
    changed = db.execute(
        "UPDATE sender_accounts SET status = %s WHERE id = %s AND status <> %s",
        (RECONNECT_REQUIRED, account_id, RECONNECT_REQUIRED),
    )
    if changed:
        log.warning("sender account %s needs reconnecting: %s", account_id, reason)


def park_for_today(db: Database, account_id: UUID) -> None:
    """No more sends from this account today: its counter is set to its limit."""
    db.execute("UPDATE sender_accounts SET sends_today = limit_today WHERE id = %s", (account_id,))
