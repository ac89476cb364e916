"""A loopback stand-in for Google's OAuth token endpoint and the Gmail API, for the real SDK to talk to.

It checks what Google would: the token endpoint takes a refresh-token grant only with the right
OAuth client and answers `invalid_grant` once the grant is revoked; Gmail takes a send only with a
live bearer token, decodes the base64url `raw`, parses it with the `email` package and refuses a
message with no From or To, a From that is not the mailbox, or broken MIME; it keeps every message
it took (id, threadId, raw bytes) and finds them again with `q=rfc822msgid:`. Faults can be queued
for the next sends: `429`, `500`, `daily_limit`, `lost` (the message is kept, then the connection
is dropped without an answer) and `slow` (kept, answered only once the test lets it go);
`send_latency_s` answers every send that long after it arrived, and `unresponsive` answers no call at all.
Mail arrives with `deliver` (a reply, an auto-reply, a bounce, a forged one: see `reply_to`,
`bounce_of` and `forged_bounce`); every message sent or delivered gets a history id, which
`users.history.list` (messages added), `users.getProfile` and `users.messages.get` (format
metadata, or raw) answer from, and `expire_history` makes Gmail forget the history so far (a 404
for any older start, as Gmail answers).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import getaddresses, make_msgid, parseaddr
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from provider_fakes import LoopbackServer

SEND = "/gmail/v1/users/me/messages/send"
LIST = "/gmail/v1/users/me/messages"
PROFILE = "/gmail/v1/users/me/profile"
HISTORY = "/gmail/v1/users/me/history"
PAGE = 100
FAULTS = {"429", "500", "daily_limit", "lost", "slow"}


@dataclass
class Mailbox:
    address: str
    client_id: str
    client_secret: str
    refresh_token: str
    revoked: bool = False


@dataclass(frozen=True)
class SentMessage:
    id: str
    thread_id: str
    mailbox: str
    raw: bytes
    labels: tuple[str, ...] = ("SENT",)
    history_id: int = 0
    taken_at: float = field(default_factory=time.time)  # when the fake took it (benchmarks' clock)

    @property
    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def headers(self) -> bytes:
        """The raw header block, exactly as sent."""
        return self.raw.split(b"\r\n\r\n", 1)[0]


@dataclass
class FakeGoogle:
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    send_calls: int = 0
    sends_in_flight: int = 0  # send calls taken and not answered yet
    most_sends_at_once: int = 0
    token_grants: int = 0
    faults: deque[str] = field(default_factory=deque)
    let_slow_answer: threading.Event = field(default_factory=threading.Event)
    send_latency_s: float = 0.0  # every send is answered this long after it arrived
    unresponsive: bool = False  # no call is answered until the fake stops (each one times out)
    inbox: list[SentMessage] = field(default_factory=list)  # what arrived from outside
    history_calls: int = 0
    expired_answers: int = 0  # history.list calls answered 404 because the start id expired
    raw_reads: int = 0  # messages.get calls with format=raw (a bounce's report read whole)
    _history_id: int = 1000
    _history_floor: dict[str, int] = field(default_factory=dict)  # mailbox -> oldest id still kept
    _access: dict[str, str] = field(default_factory=dict)  # access token -> mailbox address
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeGoogle:
        fake = self

        class Handler(GoogleHandler):
            google = fake

        self._server = LoopbackServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-google", daemon=True).start()
        return self

    def stop(self) -> None:
        self.let_slow_answer.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_base_url(self) -> str:
        return self.url + "/"

    def mailbox(self, address: str) -> dict[str, str]:
        """Open a mailbox and answer the credentials `gmail authorize` would print for it."""
        box = Mailbox(
            address.lower(),
            f"{secrets.token_hex(6)}.apps.example",
            secrets.token_urlsafe(12),
            secrets.token_urlsafe(24),
        )
        self.mailboxes[box.address] = box
        return {
            "refresh_token": box.refresh_token,
            "client_id": box.client_id,
            "client_secret": box.client_secret,
            "token_uri": self.url + "/token",
        }

    def revoke(self, address: str) -> None:
        """The owner revoked the grant: the refresh token and its access tokens stop working."""
        with self._lock:
            self.mailboxes[address.lower()].revoked = True
            self._access = {t: a for t, a in self._access.items() if a != address.lower()}

    def delete_thread(self, thread_id: str) -> None:
        """The mailbox's owner deleted a conversation: a send naming its threadId is a 404."""
        with self._lock:
            self.sent = [m for m in self.sent if m.thread_id != thread_id]

    def fail_next_sends(self, *faults: str) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        self.faults.extend(faults)

    def messages(self, mailbox: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.sent if mailbox is None or m.mailbox == mailbox.lower()]

    def next_history_id(self) -> int:
        """A new history id (call with the lock held): Gmail numbers every change in a mailbox."""
        self._history_id += 1
        return self._history_id

    def deliver(self, mailbox: str, raw: bytes, thread_id: str | None = None) -> SentMessage:
        """Mail from outside arrives in `mailbox`: in `thread_id`, else in the thread of a message
        it refers to (In-Reply-To, References), else in a thread of its own."""
        box = mailbox.lower()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        refers = str(parsed.get("In-Reply-To") or "") + " " + str(parsed.get("References") or "")
        with self._lock:
            if thread_id is None:
                thread_id = next(
                    (
                        m.thread_id
                        for m in [*self.sent, *self.inbox]
                        if m.mailbox == box and str(m.parsed["Message-ID"] or "x") in refers
                    ),
                    None,
                )
            message_id = secrets.token_hex(8)
            kept = SentMessage(
                message_id, thread_id or message_id, box, raw, ("INBOX",), self.next_history_id()
            )
            self.inbox.append(kept)
        return kept

    def expire_history(self, mailbox: str) -> None:
        """Gmail stops keeping the mailbox's history so far: older start ids answer 404."""
        with self._lock:
            self._history_floor[mailbox.lower()] = self.next_history_id()

    def stored(self, mailbox: str) -> list[SentMessage]:
        with self._lock:
            return [m for m in [*self.sent, *self.inbox] if m.mailbox == mailbox]


def reply_to(message: SentMessage, body: str = "Sounds good, let's talk.", **headers: str) -> bytes:
    """The recipient's answer to a message we sent, as their mail client writes it."""
    original = message.parsed
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = str(original["To"])
    mail["To"] = str(original["From"])
    mail["Subject"] = "Re: " + str(original["Subject"] or "")
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail["In-Reply-To"] = str(original["Message-ID"])
    mail["References"] = str(original["Message-ID"])
    for name, value in headers.items():
        del mail[name.replace("_", "-")]
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def bounce_of(
    message: SentMessage,
    failed_recipient: str | None = None,
    names_original: tuple[str, ...] = ("in-reply-to", "returned-headers"),
    sender: str = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    action: str = "failed",
    padding: int = 0,
) -> bytes:
    """A mailer daemon reporting that a message we sent could not be delivered (RFC 3464, 6522).

    Like Gmail's own reports it names the original by default in `In-Reply-To`/`References` and
    returns its headers (`text/rfc822-headers`); `names_original` picks among "in-reply-to",
    "returned-headers", "returned-message" (`message/rfc822`) and "original-message-id" (the DSN
    field), and nothing at all names no message (a forged bounce). `padding` bytes of text make it
    big."""
    original = message.parsed
    original_id = str(original["Message-ID"])
    mail = MIMEMultipart("report", report_type="delivery-status")
    mail["From"] = sender
    mail["To"] = str(original["From"])
    mail["Subject"] = "Delivery Status Notification (Failure)"
    mail["Message-ID"] = make_msgid(domain="mx.google.com")
    if "in-reply-to" in names_original:
        mail["In-Reply-To"] = original_id
        mail["References"] = original_id
    if failed_recipient:
        mail["X-Failed-Recipients"] = failed_recipient
    mail.attach(
        MIMEText(f"Your message wasn't delivered to {original['To']}: the address couldn't be found.")
    )
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; googlemail.com"
    if "original-message-id" in names_original:
        per_message["Original-Message-ID"] = original_id
    per_recipient["Final-Recipient"] = f"rfc822; {failed_recipient or original['To']}"
    per_recipient["Action"] = action
    per_recipient["Status"] = "5.1.1" if action == "failed" else "4.4.7"
    status = MIMEBase("message", "delivery-status")
    status.set_payload([per_message, per_recipient])
    mail.attach(status)
    if "returned-headers" in names_original:
        headers = MIMEText(message.headers.decode() + "\r\n", "rfc822-headers")
        mail.attach(headers)
    if "returned-message" in names_original:
        mail.attach(MIMEMessage(email.message_from_bytes(message.raw)))
    if padding:
        mail.attach(MIMEText("x" * padding))
    return mail.as_bytes()


def forged_bounce(
    sender: str = "postmaster@attacker.example",
    failed_recipients: str = "",
    in_reply_to: str | None = None,
    to: str = "sales@brand.example",
) -> bytes:
    """A delivery report from anybody, naming whatever it likes but no message it saw."""
    mail = MIMEMultipart("report", report_type="delivery-status")
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = "Undelivered Mail Returned to Sender"
    mail["Message-ID"] = make_msgid(domain="attacker.example")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    if failed_recipients:
        mail["X-Failed-Recipients"] = failed_recipients
    mail.attach(MIMEText("These addresses failed."))
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {failed_recipients.split(',')[0].strip() or 'x@y.example'}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.1.1"
    status = MIMEBase("message", "delivery-status")
    status.set_payload([Message(), per_recipient])
    mail.attach(status)
    return mail.as_bytes()


class GoogleHandler(BaseHTTPRequestHandler):
    google: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows what matters
        pass

    def do_POST(self) -> None:
        self.arrived = time.monotonic()  # a slow send is answered `send_latency_s` after this
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._never_answered():
            return
        path = urlsplit(self.path).path
        if path == "/token":
            self._token(parse_qs(body.decode()))
        elif path == SEND:
            with self.google._lock:
                self.google.sends_in_flight += 1
                self.google.most_sends_at_once = max(
                    self.google.most_sends_at_once, self.google.sends_in_flight
                )
            self.sending = True
            try:
                self._send(body)
            finally:
                self._answered()
        else:
            self._google_error(404, "notFound", "Not Found")

    def _never_answered(self) -> bool:
        if not self.google.unresponsive:
            return False
        self.google.let_slow_answer.wait(600)  # the client times out first; released when the fake stops
        self.close_connection = True
        return True

    def do_GET(self) -> None:
        if self._never_answered():
            return None
        url = urlsplit(self.path)
        if url.path not in (LIST, PROFILE, HISTORY) and not url.path.startswith(LIST + "/"):
            return self._google_error(404, "notFound", "Not Found")
        mailbox = self._mailbox()
        if mailbox is None:
            return None
        params = parse_qs(url.query)
        if url.path == PROFILE:
            return self._profile(mailbox)
        if url.path == HISTORY:
            return self._history(mailbox, params)
        if url.path != LIST:
            return self._message(mailbox, url.path.removeprefix(LIST + "/"), params)
        query = params.get("q", [""])[0]
        if query.startswith("newer_than:"):
            return self._recent(mailbox, params)
        if not query.startswith("rfc822msgid:"):
            return self._answer(200, {"resultSizeEstimate": 0})
        wanted = query.split(":", 1)[1].strip().strip("<>")
        found = [
            {"id": m.id, "threadId": m.thread_id}
            for m in self.google.messages(mailbox)
            if str(m.parsed["Message-ID"] or "").strip().strip("<>") == wanted
        ]
        return self._answer(
            200, {"messages": found, "resultSizeEstimate": len(found)} if found else {"resultSizeEstimate": 0}
        )

    def _profile(self, mailbox: str) -> None:
        with self.google._lock:
            current = self.google._history_id
        stored = self.google.stored(mailbox)
        return self._answer(
            200,
            {
                "emailAddress": mailbox,
                "messagesTotal": len(stored),
                "threadsTotal": len({m.thread_id for m in stored}),
                "historyId": str(current),
            },
        )

    def _history(self, mailbox: str, params: dict[str, list[str]]) -> None:
        with self.google._lock:
            self.google.history_calls += 1
            current = self.google._history_id
            floor = self.google._history_floor.get(mailbox, 0)
        try:
            start = int(params["startHistoryId"][0])
        except (KeyError, ValueError):
            return self._google_error(400, "invalidArgument", "Invalid startHistoryId")
        if start < floor:
            with self.google._lock:
                self.google.expired_answers += 1
            return self._google_error(404, "notFound", "Requested entity was not found.")
        added = sorted(
            (m for m in self.google.stored(mailbox) if m.history_id > start), key=lambda m: m.history_id
        )
        offset = int(params.get("pageToken", ["0"])[0] or 0)
        page = added[offset : offset + PAGE]
        answer: dict[str, Any] = {"historyId": str(current)}
        if page:
            answer["history"] = [
                {
                    "id": str(m.history_id),
                    "messages": [{"id": m.id, "threadId": m.thread_id}],
                    "messagesAdded": [
                        {"message": {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.labels)}}
                    ],
                }
                for m in page
            ]
        if offset + PAGE < len(added):
            answer["nextPageToken"] = str(offset + PAGE)
        return self._answer(200, answer)

    def _message(self, mailbox: str, message_id: str, params: dict[str, list[str]]) -> None:
        found = next((m for m in self.google.stored(mailbox) if m.id == message_id), None)
        if found is None:
            return self._google_error(404, "notFound", "Requested entity was not found.")
        answer: dict[str, Any] = {
            "id": found.id,
            "threadId": found.thread_id,
            "labelIds": list(found.labels),
            "historyId": str(found.history_id),
            "sizeEstimate": len(found.raw),
        }
        if params.get("format", ["full"])[0] == "raw":
            with self.google._lock:
                self.google.raw_reads += 1
            return self._answer(200, {**answer, "raw": base64.urlsafe_b64encode(found.raw).decode()})
        parsed = found.parsed
        wanted = {name.lower() for name in params.get("metadataHeaders", [])}
        headers = [
            {"name": name, "value": str(value)}
            for name, value in parsed.items()
            if not wanted or name.lower() in wanted
        ]
        payload = {"mimeType": parsed.get_content_type(), "headers": headers}
        return self._answer(200, {**answer, "payload": payload})

    def _recent(self, mailbox: str, params: dict[str, list[str]]) -> None:
        newest_first = sorted(self.google.stored(mailbox), key=lambda m: -m.history_id)
        size = int(params.get("maxResults", [str(PAGE)])[0])
        offset = int(params.get("pageToken", ["0"])[0] or 0)
        page = newest_first[offset : offset + size]
        answer: dict[str, Any] = {
            "messages": [{"id": m.id, "threadId": m.thread_id} for m in page],
            "resultSizeEstimate": len(newest_first),
        }
        if offset + size < len(newest_first):
            answer["nextPageToken"] = str(offset + size)
        return self._answer(200, answer)

    def _token(self, form: dict[str, list[str]]) -> None:
        value = {k: v[0] for k, v in form.items()}
        if value.get("grant_type") != "refresh_token":
            return self._answer(400, {"error": "unsupported_grant_type"})
        box = next(
            (b for b in self.google.mailboxes.values() if b.refresh_token == value.get("refresh_token")), None
        )
        if box is None or box.revoked:
            return self._answer(
                400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
        if (value.get("client_id"), value.get("client_secret")) != (box.client_id, box.client_secret):
            return self._answer(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        token = "ya29." + secrets.token_urlsafe(24)
        with self.google._lock:
            self.google._access[token] = box.address
            self.google.token_grants += 1
        return self._answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _send(self, body: bytes) -> None:
        mailbox = self._mailbox()
        if mailbox is None:
            return None
        with self.google._lock:
            self.google.send_calls += 1
            fault = self.google.faults.popleft() if self.google.faults else None
        if fault == "429":
            return self._google_error(429, "rateLimitExceeded", "Too many concurrent requests for user.")
        if fault == "500":
            return self._google_error(500, "backendError", "Backend Error")
        if fault == "daily_limit":
            return self._google_error(403, "dailyLimitExceeded", "Daily sending quota exceeded.")
        try:
            request = json.loads(body)
            raw = base64.urlsafe_b64decode(request["raw"] + "=" * (-len(request["raw"]) % 4))
        except (ValueError, KeyError, TypeError):
            return self._google_error(400, "invalidArgument", "'raw' RFC822 payload message string missing")
        refusal = refusal_of(raw, mailbox)
        if refusal:
            return self._google_error(400, "invalidArgument", refusal)
        thread_id = request.get("threadId")
        with self.google._lock:
            if thread_id and not any(
                m.thread_id == thread_id and m.mailbox == mailbox for m in self.google.sent
            ):
                thread_id = None  # unknown thread: refused below, as Gmail answers 404
                missing = True
            else:
                missing = False
            if not missing:
                message_id = secrets.token_hex(8)
                history_id = self.google.next_history_id()
                kept = SentMessage(message_id, thread_id or message_id, mailbox, raw, ("SENT",), history_id)
                self.google.sent.append(kept)
        if missing:
            return self._google_error(404, "notFound", "Requested entity was not found.")
        if fault == "lost":  # Gmail took it; the answer never arrives
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "slow":
            self.google.let_slow_answer.wait(30)
        if self.google.send_latency_s:  # answered that long after the request came, as Gmail would
            time.sleep(max(0.0, self.arrived + self.google.send_latency_s - time.monotonic()))
        return self._answer(200, {"id": kept.id, "threadId": kept.thread_id, "labelIds": ["SENT"]})

    def _mailbox(self) -> str | None:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        with self.google._lock:
            mailbox = self.google._access.get(token or "")
        if mailbox is None:
            self._google_error(401, "authError", "Request had invalid authentication credentials.")
        return mailbox

    def _google_error(self, status: int, reason: str, message: str) -> None:
        error = {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
        self._answer(status, {"error": error})

    def _answered(self) -> None:
        """A send stops counting as in flight before its answer goes out: the client may send the
        next one the moment it has the answer."""
        if getattr(self, "sending", False):
            self.sending = False
            with self.google._lock:
                self.google.sends_in_flight -= 1

    def _answer(self, status: int, content: dict[str, Any]) -> None:
        self._answered()
        data = json.dumps(content).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def refusal_of(raw: bytes, mailbox: str) -> str | None:
    """Why Gmail would refuse this message from this mailbox, if it would."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sender = parseaddr(str(message.get("From") or ""))[1].lower()
    if not sender:
        return "Invalid From header"
    if sender != mailbox:
        return f"From {sender} is not the mailbox {mailbox}"
    recipients = [
        address for _, address in getaddresses([str(v) for v in message.get_all("To") or []]) if address
    ]
    if not recipients or any("@" not in address for address in recipients):
        return "Invalid To header"
    for part in message.walk():
        defects = [*part.defects, *(d for _, value in part.items() for d in getattr(value, "defects", ()))]
        if defects:
            return f"Invalid MIME: {', '.join(type(d).__name__ for d in defects)}"
    if message.is_multipart() and not message.get_payload():
        return "Invalid MIME: an empty multipart"
    return None
