"""What an email that arrived in a sender's mailbox is: a reply, an automatic answer, or a bounce.

Read from the headers `users.messages.get(format="metadata")` gives. Automatic answers (RFC 3834
`Auto-Submitted` other than "no", `Precedence: bulk|junk|list`, `X-Autoreply`/`X-Autorespond`,
an "Out of office" or "Automatic reply" subject) are not replies: they change nothing. A bounce
comes from a mailer daemon or postmaster, or is a `multipart/report` of delivery status; this is
only what it claims to be: the poller believes it only for a message the mailbox sent
(bounce_reports.py), and never takes an address from it (`X-Failed-Recipients` is anybody's to
write). The Message-IDs it refers to (`In-Reply-To`, `References`) tie a reply or a bounce to the
message we sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from consumers.providers.gmail.bounce_reports import message_ids_in

HEADERS = (
    "From",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "Content-Type",
)
BOUNCERS = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
AUTOMATIC_SUBJECTS = re.compile(r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply)", re.I)
PLAIN_ADDRESS = re.compile(r"^[^\s\x00-\x1f\x7f<>]{1,254}$")
DELAYED = re.compile(r"\bdelay(ed)?\b", re.I)


class MailKind(StrEnum):
    REPLY = "reply"
    AUTOMATIC = "automatic"  # an out-of-office or other machine answer: ignored
    BOUNCE = "bounce"
    OURS = "ours"  # a message the mailbox sent itself (it shows in the history too)


@dataclass(frozen=True)
class IncomingMail:
    gmail_id: str
    thread_id: str
    kind: MailKind
    sender: str  # the From address, lower case ("" when it is not a plain address)
    refers_to: tuple[str, ...]  # Message-IDs from In-Reply-To and References, with angle brackets
    size: int  # Gmail's estimate of the message's size in bytes


def read_incoming(message: dict[str, Any], mailbox: str) -> IncomingMail:
    """Classify a `messages.get` answer (format metadata) that arrived in `mailbox`."""
    headers: dict[str, str] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        headers.setdefault(str(header.get("name", "")).lower(), str(header.get("value", "")))
    sender = parseaddr(headers.get("from", ""))[1].lower()
    sender = sender if PLAIN_ADDRESS.match(sender) else ""  # it ends up in a recorded reason
    refers_to = message_ids_in(headers.get("in-reply-to", ""), headers.get("references", ""))
    try:
        size = int(message.get("sizeEstimate") or 0)
    except (TypeError, ValueError):
        size = 0
    return IncomingMail(
        str(message["id"]),
        str(message.get("threadId") or message["id"]),
        _kind(message, headers, sender, mailbox),
        sender,
        refers_to,
        size,
    )


def _kind(message: dict[str, Any], headers: dict[str, str], sender: str, mailbox: str) -> MailKind:
    labels = set(message.get("labelIds") or [])
    if labels & {"SENT", "DRAFT"} or sender == mailbox.lower():
        return MailKind.OURS
    content_type = (
        headers.get("content-type") or (message.get("payload") or {}).get("mimeType") or ""
    ).lower()
    if BOUNCERS.match(sender) or (
        content_type.startswith("multipart/report") and "delivery-status" in content_type
    ):
        return MailKind.AUTOMATIC if DELAYED.search(headers.get("subject", "")) else MailKind.BOUNCE
    if headers.get("auto-submitted", "no").strip().lower() != "no":
        return MailKind.AUTOMATIC
    if headers.get("precedence", "").strip().lower() in {"bulk", "junk", "list"}:
        return MailKind.AUTOMATIC
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return MailKind.AUTOMATIC
    if AUTOMATIC_SUBJECTS.match(headers.get("subject", "")):
        return MailKind.AUTOMATIC
    return MailKind.REPLY
