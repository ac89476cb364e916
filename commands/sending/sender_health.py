"""Use case: what a provider adapter learns about a sender account's health while sending.

A mailbox whose OAuth grant was revoked or expired cannot send until its owner connects it again:
its status becomes `reconnect_required`, which the rotation (commands/sending/claim_senders.py)
skips, so the brand's other accounts take its steps. A mailbox that reached the provider's own
daily limit is parked for the rest of the day: its `sends_today` is set to its limit, and the
daily reset (commands/sending/daily_reset.py) opens it again at midnight UTC. Its owner
reconnects a mailbox by handing in fresh credentials, which puts it back into rotation.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from commands.sending.credentials import CredentialCipher, credential_problems, require_cipher
from commands.sending.sender_accounts import InvalidSenderAccount, sender_account
from domain.errors import NotFound
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


def reconnect_sender_account(
    db: Database,
    cipher: CredentialCipher | None,
    brand_id: UUID,
    account_id: UUID,
    credentials: dict[str, Any],
) -> dict[str, Any]:
    """Replace the account's credentials (sealed) and, if it was waiting for them, put it back in rotation."""
    row = db.fetch_one(
        "SELECT provider FROM sender_accounts WHERE id = %s AND brand_id = %s", (account_id, brand_id)
    )
    if row is None:
        raise NotFound(f"sender account {account_id}")
    if row["provider"] == "sandbox":
        raise InvalidSenderAccount(
            [{"field": "credentials", "error": "a sandbox account takes no credentials"}]
        )
    problems = credential_problems(row["provider"], credentials)
    if problems:
        raise InvalidSenderAccount([{"field": "credentials", "error": p} for p in problems])
    sealed = require_cipher(cipher).seal(credentials)
    db.execute(
        """UPDATE sender_accounts SET credentials = %s,
               status = CASE WHEN status = %s THEN 'active' ELSE status END
           WHERE id = %s AND brand_id = %s""",
        (sealed, RECONNECT_REQUIRED, account_id, brand_id),
    )
    return sender_account(db, brand_id, account_id)
