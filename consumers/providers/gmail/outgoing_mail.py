"""The RFC 5322 message the Gmail adapter hands to `messages.send`, built with the `email` package.

Headers are never folded into RFC 2047 encoded words (the policy allows 998 characters a line),
so `List-Unsubscribe` carries its `<URL>` literally, as RFC 2369 and 8058 need for mailbox
providers to offer one-click unsubscribe. The Message-ID is derived from the message key and the
sender's domain, so the same step always carries the same id and an uncertain send can be looked
up instead of repeated. An HTML body goes out with a plain-text alternative.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from html.parser import HTMLParser

from commands.sending.providers import OutboundMessage
from consumers.providers.gmail.conversation_threads import Conversation
from domain.message_links import is_html

POLICY = SMTP.clone(max_line_length=998)
BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


class UnsendableText(ValueError):
    """Text no header can carry (a line break in a subject, say): the message cannot be built."""


@dataclass(frozen=True)
class Letter:
    message: OutboundMessage
    message_id: str
    unsubscribe_url: str
    conversation: Conversation | None = None


def message_id_for(message_key: str, sender: str) -> str:
    """The deterministic Message-ID of one step's email from one mailbox."""
    domain = sender.rsplit("@", 1)[-1]
    return f"<{hashlib.sha256(message_key.encode()).hexdigest()[:32]}@{domain}>"


def shaped_as_ours(message_id: str, sender: str) -> bool:
    """Whether a Message-ID has the shape `message_id_for` gives the mailbox's messages (a cheap
    filter before the look-up that says whether the mailbox really sent it)."""
    domain = sender.rsplit("@", 1)[-1].lower()
    return re.fullmatch(rf"<[0-9a-f]{{32}}@{re.escape(domain)}>", message_id, re.I) is not None


def compose(letter: Letter) -> bytes:
    """The message's bytes (CRLF line ends); UnsendableText for text no header can carry."""
    try:
        return _composed(letter)
    except ValueError as unusable:
        raise UnsendableText(str(unusable)) from unusable


def _composed(letter: Letter) -> bytes:
    message, mail = letter.message, EmailMessage(policy=POLICY)
    mail["From"] = message.sender
    mail["To"] = message.to
    mail["Subject"] = message.subject or ""
    mail["Message-ID"] = letter.message_id
    if letter.conversation is not None:
        mail["In-Reply-To"] = letter.conversation.in_reply_to
        mail["References"] = letter.conversation.references
    mail["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    body = message.body or ""
    if is_html(body):  # the same test that decides whether the body gets an open pixel
        mail.set_content(plain_text(body))
        mail.add_alternative(body, subtype="html")
    else:
        mail.set_content(body)
    return mail.as_bytes()


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden = max(self._hidden - 1, 0)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """The readable text of an HTML body, one paragraph a line, for the text/plain alternative."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line) + "\n"
