"""What a bounce says about the message it returns: the Message-IDs it names and whether it failed.

A bounce is believed only for a message the mailbox itself sent, so its raw bytes are read for
the Message-IDs it names besides its own `In-Reply-To`/`References`: the `Original-Message-ID`
field of its `message/delivery-status` part (an extension field several MTAs write), and the
`Message-ID` of the message it returns, whole (`message/rfc822`) or its headers alone
(`text/rfc822-headers`), as RFC 6522 and 3464 lay a report out. Only the report's own parts are
read, never what a returned message carries inside it, and at most MOST_IDS ids are kept. The
per-recipient `Action` fields say whether delivery failed: a report whose fields all say
delayed, delivered, relayed or expanded is no bounce. Bytes the parser cannot read name nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

log = logging.getLogger(__name__)

MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
MOST_IDS = 64  # a genuine bounce names one message; more only makes the look-up longer
MOST_PARTS = 20  # parts of the report looked at
RETURNED = ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers")
STATUS = ("message/delivery-status", "message/global-delivery-status")


@dataclass(frozen=True)
class BounceReport:
    message_ids: tuple[str, ...]  # Message-IDs of the returned message, with angle brackets
    failed: bool | None  # an Action: failed seen; False if only other actions; None if none at all


NOTHING = BounceReport((), None)


def message_ids_in(*values: str) -> tuple[str, ...]:
    """The Message-IDs written in header values, in order, once each, at most MOST_IDS."""
    found: dict[str, None] = {}
    for value in values:
        for message_id in MESSAGE_ID.findall(value):
            found.setdefault(message_id, None)
            if len(found) >= MOST_IDS:
                return tuple(found)
    return tuple(found)


def read_report(raw: bytes) -> BounceReport:
    try:
        return _read(BytesParser(policy=policy.compat32).parsebytes(raw))
    except Exception as unreadable:  # hostile or broken MIME: the report names nothing of ours
        log.info("a bounce could not be read (%s)", type(unreadable).__name__)
        return NOTHING


def _read(report: Message) -> BounceReport:
    if not report.is_multipart():
        return NOTHING
    ids: list[str] = []
    actions: list[str] = []
    for part in list(report.get_payload())[:MOST_PARTS]:
        if not isinstance(part, Message):
            continue
        kind = part.get_content_type()
        if kind in STATUS:
            for block in _blocks(part):
                ids.extend(message_ids_in(str(block.get("Original-Message-ID", ""))))
                action = str(block.get("Action", "")).strip().lower()
                if action:
                    actions.append(action)
        elif kind in RETURNED:
            returned = _returned_headers(part)
            if returned is not None:
                ids.extend(message_ids_in(str(returned.get("Message-ID", ""))))
    failed = None if not actions else "failed" in actions
    return BounceReport(message_ids_in(" ".join(ids)), failed)


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part (the per-message block, then one per recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload[:MOST_PARTS] if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    if not isinstance(text, bytes):
        return []
    blocks = re.split(r"\r?\n\r?\n", text.decode("utf-8", errors="replace"))
    return [HeaderParser(policy=policy.compat32).parsestr(block) for block in blocks[:MOST_PARTS]]


def _returned_headers(part: Message) -> Message | None:
    """The header block of the returned message, whole or headers only."""
    payload = part.get_payload()
    if isinstance(payload, list):
        first = payload[0] if payload else None
        return first if isinstance(first, Message) else None
    text = part.get_payload(decode=True)
    if not isinstance(text, bytes):
        return None
    return HeaderParser(policy=policy.compat32).parsestr(text.decode("utf-8", errors="replace"))
