"""Use case: a text arrived at one of the brand's numbers: an opt-out, an opt-in, a call for help,
or a reply.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT (the whole message, any case) put the sender's
number on the brand's suppression list, which withdraws its pending texts and calls and releases
their credits; START and UNSTOP take it off again; HELP (or INFO) is answered with the brand's help
text. Anything else is a reply: the contact's remaining steps stop in the brand's running campaigns.
"""

from __future__ import annotations

from contextlib import suppress as ignoring
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from commands.application import CampaignApplication
from commands.audience.contact_normalisation import normalise_phone
from commands.audience.suppressions import suppress, unsuppress
from commands.inbound.replies import record_reply
from commands.sending.messaging_settings import messaging_settings
from domain.enrollment import STOP_KEYWORD
from domain.errors import InvalidInput, NotFound
from storage.database import Database

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


class TextKind(StrEnum):
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELP = "help"
    REPLY = "reply"


@dataclass(frozen=True)
class TextAnswer:
    kind: TextKind
    message: str | None = None  # what to text back, if anything


def receive_text(
    app: CampaignApplication,
    db: Database,
    brand_id: UUID,
    sender: str,
    body: str,
    message_sid: str,
    now: datetime,
) -> TextAnswer:
    number = normalise_phone(sender)
    if not number:
        raise InvalidInput(f"{sender!r} is not a phone number", [{"field": "From", "error": "not a phone"}])
    word = body.strip().upper()
    if word in STOP_WORDS:
        suppress(app, db, brand_id, number, f"{STOP_KEYWORD} {word}", now)
        return TextAnswer(TextKind.OPTED_OUT)
    if word in START_WORDS:
        with ignoring(NotFound):  # not suppressed: nothing to lift
            unsuppress(db, brand_id, number)
        return TextAnswer(TextKind.OPTED_IN)
    if word in HELP_WORDS:
        return TextAnswer(TextKind.HELP, messaging_settings(db, brand_id).help_text)
    record_reply(app, db, brand_id, number, "sms", message_sid, now)
    return TextAnswer(TextKind.REPLY)
