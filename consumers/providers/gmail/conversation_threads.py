"""The Gmail thread of each enrollment and mailbox, so a follow-up from the same mailbox replies in it.

A conversation is one contact in one campaign, written to from one mailbox: its first message
opens a Gmail thread; every later one names that `threadId` and the earlier Message-IDs
(`In-Reply-To` the last, `References` all of them), as Gmail and RFC 5322 want for a reply.
A follow-up from another mailbox starts a thread of its own there.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from storage.database import Database

MAX_REFERENCES = 20  # RFC 5322 lets a long chain be trimmed; the first and the latest ones matter


@dataclass(frozen=True)
class Conversation:
    thread_id: str
    message_ids: tuple[str, ...]  # oldest first, each with its angle brackets

    @property
    def in_reply_to(self) -> str:
        return self.message_ids[-1]

    @property
    def references(self) -> str:
        ids = self.message_ids
        kept = ids if len(ids) <= MAX_REFERENCES else (ids[0], *ids[-(MAX_REFERENCES - 1) :])
        return " ".join(kept)


def conversation(db: Database, campaign_id: UUID, contact_id: UUID, account_id: UUID) -> Conversation | None:
    row = db.fetch_one(
        """SELECT thread_id, message_ids FROM gmail_threads
           WHERE campaign_id = %s AND contact_id = %s AND sender_account_id = %s""",
        (campaign_id, contact_id, account_id),
    )
    return Conversation(row["thread_id"], tuple(row["message_ids"].split())) if row else None


def remember_message(
    db: Database, campaign_id: UUID, contact_id: UUID, account_id: UUID, thread_id: str, message_id: str
) -> None:
    """Add a message the mailbox sent to the conversation (once, however often it is reported)."""
    db.execute(
        """INSERT INTO gmail_threads (campaign_id, contact_id, sender_account_id, thread_id, message_ids)
           VALUES (%(campaign)s, %(contact)s, %(account)s, %(thread)s, %(message)s)
           ON CONFLICT (campaign_id, contact_id, sender_account_id) DO UPDATE SET
               thread_id = EXCLUDED.thread_id,
               message_ids = CASE
                   WHEN %(message)s = ANY(string_to_array(gmail_threads.message_ids, ' '))
                   THEN gmail_threads.message_ids
                   ELSE gmail_threads.message_ids || ' ' || %(message)s END,
               updated_at = now()""",
        {
            "campaign": campaign_id,
            "contact": contact_id,
            "account": account_id,
            "thread": thread_id,
            "message": message_id,
        },
    )


@dataclass(frozen=True)
class AnsweredConversation:
    campaign_id: UUID
    contact_id: UUID
    last_message_id: str  # the latest Message-ID we sent in it


def answered_conversation(
    db: Database, account_id: UUID, thread_id: str, message_ids: tuple[str, ...]
) -> AnsweredConversation | None:
    """The conversation an incoming message belongs to: the mailbox's thread it arrived in, or the
    one holding a Message-ID it refers to (In-Reply-To, References)."""
    row = db.fetch_one(
        """SELECT campaign_id, contact_id, message_ids FROM gmail_threads
           WHERE sender_account_id = %s
             AND (thread_id = %s OR string_to_array(message_ids, ' ') && %s::text[])
           ORDER BY (thread_id = %s) DESC, updated_at DESC LIMIT 1""",
        (account_id, thread_id, list(message_ids), thread_id),
    )
    if row is None:
        return None
    return AnsweredConversation(row["campaign_id"], row["contact_id"], row["message_ids"].split()[-1])
