"""The signed Twilio webhooks already handled, so a replayed request records nothing new.

Twilio's signature covers the URL and the form but no time: a captured request verifies forever.
Each request is therefore remembered by what Twilio names it with (a text's MessageSid; a delivery
report's MessageSid and status; a call's CallSid, status and detection result), per brand, so
one brand's account can never pre-empt another's. `receive` writes the row on first arrival and
says whether an earlier arrival was already handled; `handled` marks it once its effect is
recorded. A request that failed half-way is not marked, so Twilio's own retry is handled again
(every effect behind it is idempotent). Twilio sends no timestamp either, so receptions are
ordered by `received_seq`, the order in which distinct SIDs first reached us: an opt-out or
opt-in keyword (which keeps its number) is not applied when a later-received one for the same
number already was, as when a STOP whose first try failed is retried by Twilio after the START
that followed it. A replay of an old keyword is caught earlier, by its SID. Rows of delivery
reports and calls are forgotten after CALLBACKS_KEPT (a late report changes nothing: a step keeps
its first); rows of texts stay, one per text a contact sent (see migration 0011).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from storage.database import Database

CALLBACKS_KEPT = timedelta(days=30)
MOST_FORGOTTEN = 10_000  # rows one cron pass deletes, so a backlog never makes one long statement


class Webhook(StrEnum):
    SMS = "sms"
    STATUS = "status"
    VOICE = "voice"


@dataclass(frozen=True)
class Receipt:
    brand_id: UUID
    webhook: Webhook
    sid: str
    event: str
    seq: int  # the order of first arrival among all receipts
    repeat: bool  # an arrival of this request was handled before: record nothing


def receive(
    db: Database,
    brand_id: UUID,
    webhook: Webhook,
    sid: str,
    event: str,
    now: datetime,
    number: str | None = None,
) -> Receipt:
    row = db.fetch_one(
        """INSERT INTO twilio_webhook_receipts (brand_id, webhook, sid, event, number, received_at)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (brand_id, webhook, sid, event) DO UPDATE SET sid = EXCLUDED.sid
           RETURNING received_seq, handled_at IS NOT NULL AS repeat""",
        (brand_id, webhook.value, sid, event, number, now),
    )
    if row is None:
        raise RuntimeError("INSERT ... ON CONFLICT DO UPDATE returned no row")
    return Receipt(brand_id, webhook, sid, event, int(row["received_seq"]), bool(row["repeat"]))


def handled(db: Database, receipt: Receipt, now: datetime) -> None:
    db.execute(
        """UPDATE twilio_webhook_receipts SET handled_at = %s
           WHERE brand_id = %s AND webhook = %s AND sid = %s AND event = %s AND handled_at IS NULL""",
        (now, receipt.brand_id, receipt.webhook.value, receipt.sid, receipt.event),
    )


def later_keyword_applied(db: Database, receipt: Receipt, number: str) -> bool:
    """Whether a keyword from `number` that reached us after this one was applied already."""
    row = db.fetch_one(
        """SELECT EXISTS (SELECT 1 FROM twilio_webhook_receipts
                          WHERE brand_id = %s AND number = %s AND received_seq > %s
                            AND handled_at IS NOT NULL) AS later""",
        (receipt.brand_id, number, receipt.seq),
    )
    return bool(row and row["later"])


def forget_old_callbacks(db: Database, now: datetime) -> int:
    """Delete delivery-report and call receipts older than CALLBACKS_KEPT; how many."""
    return db.execute(
        """DELETE FROM twilio_webhook_receipts WHERE ctid = ANY(ARRAY(
               SELECT ctid FROM twilio_webhook_receipts
               WHERE webhook <> 'sms' AND received_at < %s LIMIT %s))""",
        (now - CALLBACKS_KEPT, MOST_FORGOTTEN),
    )
