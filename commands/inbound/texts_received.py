"""Use case: a text arrived at one of the brand's numbers: an opt-out, an opt-in, a call for help,
or a reply.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT (the whole message, any case) put the sender's
number on the brand's suppression list, which withdraws its pending texts and calls and releases
their credits; START and UNSTOP take it off again; HELP (or INFO) is answered with the brand's help
text. Anything else is a reply: the contact's remaining steps stop in the brand's running campaigns.
A text whose sender is no dialable number (a short code, an alphanumeric sender id) is nobody we
can suppress or reply to: it is ignored and nothing is recorded. Each text is handled once
(webhook_receipts.py): a replay of one already handled only answers again, and a STOP or START
is not applied over a later-received one for the same number.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress as ignoring
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from commands.application import CampaignApplication
from commands.audience.contact_normalisation import normalise_phone
from commands.audience.suppressions import suppress, unsuppress
from commands.inbound import webhook_receipts
from commands.inbound.opt_outs import record_stop
from commands.inbound.replies import record_reply
from commands.inbound.webhook_receipts import Webhook
from commands.sending.messaging_settings import messaging_settings
from domain.errors import NotFound
from domain.withdrawal import stop_keyword_words
from storage.database import Database

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class TextKind(StrEnum):
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELP = "help"
    REPLY = "reply"
    IGNORED = "ignored"  # not from a phone number: nothing recorded, nothing answered


@dataclass(frozen=True)
class TextAnswer:
    kind: TextKind
    message: str | None = None  # what to text back, if anything


def receive_text(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    sender: str,
    body: str,
    message_sid: str,
    now: datetime,
) -> TextAnswer:
    number = _phone(sender)
    if number is None:
        log.info("inbound text %s is not from a phone number: ignored", message_sid)
        return TextAnswer(TextKind.IGNORED)
    word = body.strip().upper()
    kind = _kind(word)
    keyword = kind in (TextKind.OPTED_OUT, TextKind.OPTED_IN)
    receipt = webhook_receipts.receive(
        db, brand_id, Webhook.SMS, message_sid, "", now, number if keyword else None
    )
    if kind is TextKind.HELP:
        answer = TextAnswer(TextKind.HELP, messaging_settings(db, brand_id).help_text)
    else:
        answer = TextAnswer(kind)
    if receipt.repeat:
        return answer  # handled before: answered again, nothing recorded
    if keyword and webhook_receipts.later_keyword_applied(db, receipt, number):
        log.info("inbound text %s: a later STOP or START from its number was applied; ignored", message_sid)
    elif kind is TextKind.OPTED_OUT:
        suppress(store, db, brand_id, number, stop_keyword_words(word), now)
        record_stop(store, db, brand_id, number, now)  # counted against the texts it answered
    elif kind is TextKind.OPTED_IN:
        with ignoring(NotFound):  # not suppressed: nothing to lift
            unsuppress(store, db, brand_id, number, f"SMS keyword {word}", now)
    elif kind is TextKind.REPLY:
        record_reply(store, db, brand_id, number, "sms", message_sid, now)
    webhook_receipts.handled(db, receipt, now)
    return answer


def _kind(word: str) -> TextKind:
    if word in STOP_WORDS:
        return TextKind.OPTED_OUT
    if word in START_WORDS:
        return TextKind.OPTED_IN
    if word in HELP_WORDS:
        return TextKind.HELP
    return TextKind.REPLY


def _phone(sender: str) -> str | None:
    """The sender as E.164, or None for a short code, an alphanumeric id or anything unreadable
    (Twilio writes a phone sender in E.164)."""
    if not E164.fullmatch(sender):
        return None
    try:
        return normalise_phone(sender)
    except ValueError:
        return None
