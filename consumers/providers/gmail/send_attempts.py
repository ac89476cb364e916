"""Which mailboxes a message may have reached, recorded before each call, for reconciliation.

An ambiguous failure (a 5xx, a timeout, an answer lost on the way back) leaves open whether Gmail
took the message. The Message-ID is deterministic, so the adapter searches each mailbox the
message was handed to (`rfc822msgid:`) before it would send again; this record says where to look,
even when the retry goes out through another account of the brand. A call that certainly failed
(refused, rate limited, no access token) is forgotten again: there is nothing to look for.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from storage.database import Database


@dataclass(frozen=True)
class SendAttempt:
    message_key: str
    account_id: UUID
    campaign_id: UUID
    contact_id: UUID
    message_id: str  # the RFC 5322 Message-ID the message carried, with its angle brackets
    gmail_message_id: str | None  # Gmail's id once the send is known to have been taken


def record_attempt(
    db: Database, message_key: str, account_id: UUID, campaign_id: UUID, contact_id: UUID, message_id: str
) -> None:
    db.execute(
        """INSERT INTO gmail_send_attempts
               (message_key, sender_account_id, campaign_id, contact_id, rfc822_message_id)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_key, sender_account_id) DO NOTHING""",
        (message_key, account_id, campaign_id, contact_id, message_id),
    )


def record_accepted(db: Database, message_key: str, account_id: UUID, gmail_message_id: str) -> None:
    db.execute(
        """UPDATE gmail_send_attempts SET gmail_message_id = %s
           WHERE message_key = %s AND sender_account_id = %s""",
        (gmail_message_id, message_key, account_id),
    )


def forget_attempt(db: Database, message_key: str, account_id: UUID) -> None:
    """The call certainly did not send: an unanswered lookup in that mailbox must not block a retry."""
    db.execute(
        """DELETE FROM gmail_send_attempts
           WHERE message_key = %s AND sender_account_id = %s AND gmail_message_id IS NULL""",
        (message_key, account_id),
    )


def attempts_of(db: Database, message_key: str) -> list[SendAttempt]:
    rows = db.fetch_all(
        """SELECT message_key, sender_account_id, campaign_id, contact_id, rfc822_message_id, gmail_message_id
           FROM gmail_send_attempts WHERE message_key = %s ORDER BY first_tried_at""",
        (message_key,),
    )
    return [
        SendAttempt(
            r["message_key"],
            r["sender_account_id"],
            r["campaign_id"],
            r["contact_id"],
            r["rfc822_message_id"],
            r["gmail_message_id"],
        )
        for r in rows
    ]


def step_sent_as(db: Database, account_id: UUID, message_ids: list[str]) -> str | None:
    """The key (`<enrollment>:<step>`) of the step the mailbox sent under one of these Message-IDs."""
    row = db.fetch_one(
        """SELECT message_key FROM gmail_send_attempts
           WHERE sender_account_id = %s AND rfc822_message_id = ANY(%s) AND gmail_message_id IS NOT NULL
           ORDER BY first_tried_at DESC LIMIT 1""",
        (account_id, message_ids),
    )
    return str(row["message_key"]) if row else None
