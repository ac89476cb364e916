"""The Twilio adapter's memory of its own calls: one row per step key, kept apart from the events.

A row is written right before the provider call (who, to whom, what, and when by the database's
clock, which is the provider's time scale rather than the service's possibly advanced one) and
given the message or call SID as soon as the answer arrives. When an answer is lost the row
still says what was asked, so `find_sent` can look the message up at the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from storage.database import Database


@dataclass(frozen=True)
class EarlierSend:
    sender_account_id: UUID
    kind: str  # "message" (SMS) or "call" (voicemail drop)
    to: str
    sender: str
    body: str | None
    attempted_at: datetime
    sid: str | None  # None: the answer never arrived


def remember_attempt(
    db: Database, key: str, account_id: UUID, kind: str, to: str, sender: str, body: str | None
) -> None:
    """Write down the call about to be made; a later try of the same step overwrites an answerless row."""
    db.execute(
        """INSERT INTO twilio_sends (message_key, sender_account_id, kind, "to", "from", body, attempted_at)
           VALUES (%s, %s, %s, %s, %s, %s, now())
           ON CONFLICT (message_key) DO UPDATE SET sender_account_id = EXCLUDED.sender_account_id,
               "to" = EXCLUDED."to", "from" = EXCLUDED."from", body = EXCLUDED.body,
               attempted_at = LEAST(twilio_sends.attempted_at, EXCLUDED.attempted_at)
           WHERE twilio_sends.sid IS NULL""",
        (key, account_id, kind, to, sender, body),
    )


def remember_sid(db: Database, key: str, sid: str) -> None:
    db.execute("UPDATE twilio_sends SET sid = %s WHERE message_key = %s", (sid, key))


def earlier_send(db: Database, key: str) -> EarlierSend | None:
    row = db.fetch_one(
        """SELECT sender_account_id, kind, "to", "from" AS sender, body, attempted_at, sid
           FROM twilio_sends WHERE message_key = %s""",
        (key,),
    )
    return EarlierSend(**row) if row else None
