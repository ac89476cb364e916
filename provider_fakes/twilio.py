"""A fake Twilio REST API on 127.0.0.1 (a random port) that checks what Twilio checks.

Messages and Calls can be created and listed under /2010-04-01/Accounts/{sid}/. Each request
must carry HTTP basic auth with the account's SID and auth token (else 401, code 20003); `To`
and `From` must be E.164 (21211 for `To`, 21212 for `From`), `From` a number the account owns
(21606 for a text, 21210 for a call); a text needs a `Body` (21602); a call needs a `Url` or
`Twiml` whose root is <Response> (12100), and answering-machine detection parameters Twilio
knows. A number that opted out gets 21610. Tests can inject the next answers: an error code with
its HTTP status (21610, 21211, 20429, 5xx), a slow answer, or "accepted but the answer was lost"
(the message is kept, the connection closed without a word). The fake also plays Twilio's part
in webhooks: delivery reports, inbound texts and the steps of a voicemail call, each signed with
the account's token (or a wrong one, or none), posted to the service over HTTP.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit
from uuid import uuid4

import httpx
from twilio.request_validator import RequestValidator

from provider_fakes import LoopbackServer

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)\.json$")
AMD = {"MachineDetection": {"Enable", "DetectMessageEnd"}, "AsyncAmd": {"true", "false"}}


@dataclass
class Account:
    sid: str
    token: str
    numbers: set[str]


@dataclass
class Fault:
    code: int | None = None  # Twilio's error code, answered with `status`
    status: int = 400
    delay: float = 0.0  # answer this late (the request is carried out first)
    lose_answer: bool = False  # carry the request out, then close the connection unanswered


@dataclass
class WebhookAnswer:
    status: int
    body: str


@dataclass
class CallOutcome:
    played: list[str] = field(default_factory=list)  # audio URLs the callee heard
    hung_up: bool = False
    twiml: list[str] = field(default_factory=list)  # every TwiML document the service answered


class FakeTwilio:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.opted_out: set[str] = set()
        self.refused: list[dict[str, Any]] = []  # every request answered with an error, and why
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.requests_seen: list[dict[str, str]] = []  # method, path and headers of every request

    # ---- set-up and injections -------------------------------------------------------------
    def add_account(self, numbers: list[str]) -> Account:
        account = Account(f"AC{uuid4().hex}", uuid4().hex, set(numbers))
        self.accounts[account.sid] = account
        return account

    def fail_next(self, code: int | None, status: int = 400, times: int = 1) -> None:
        self.faults += [Fault(code=code, status=status) for _ in range(times)]

    def answer_late(self, seconds: float) -> None:
        self.faults.append(Fault(delay=seconds))

    def lose_next_answer(self) -> None:
        self.faults.append(Fault(lose_answer=True))

    def messages_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["to"] == number]

    # ---- the REST API ----------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, Any]:
        route = ROUTE.match(urlsplit(path).path)
        if route is None:
            return 404, _error(20404, "The requested resource was not found", 404)
        account = self.accounts.get(route["account"])
        if account is None or headers.get("authorization") != _basic(account):
            return 401, _error(20003, "Authentication Error - invalid username or password", 401)
        if method == "GET":
            query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            return 200, self._list(account, route["resource"], query)
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None and fault.code is None and fault.status >= 500 and not fault.lose_answer:
            return fault.status, _error(None, "Internal Server Error", fault.status)
        if fault is not None and fault.code is not None:
            return fault.status, _error(fault.code, f"injected error {fault.code}", fault.status)
        problem = self._problem(account, route["resource"], form)
        if problem is not None:
            return problem
        created = self._create(account, route["resource"], form)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.lose_answer:
            return -1, None  # the handler closes the connection without answering
        return 201, created

    def _problem(self, account: Account, resource: str, form: dict[str, str]) -> tuple[int, Any] | None:
        to, sender = form.get("To", ""), form.get("From", "")
        if not E164.match(to):
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.")
        if not E164.match(sender):
            return 400, _error(21212, f"The 'From' number {sender} is not a valid phone number.")
        if sender not in account.numbers:
            code = 21606 if resource == "Messages" else 21210
            return 400, _error(code, f"The From phone number {sender} is not one of this account's numbers.")
        if to in self.opted_out:
            return 400, _error(21610, "Attempt to send to unsubscribed recipient")
        if resource == "Messages":
            if not form.get("Body"):
                return 400, _error(21602, "Message body is required.")
            return None
        if not form.get("Url") and not form.get("Twiml"):
            return 400, _error(21205, "Url or Twiml is required.")
        if form.get("Twiml") and not _is_twiml(form["Twiml"]):
            return 400, _error(12100, "Document parse failure: the root must be <Response>.")
        for name, allowed in AMD.items():
            if name in form and form[name] not in allowed:
                return 400, _error(21626, f"{name} must be one of {sorted(allowed)}.")
        if form.get("AsyncAmd") == "true" and not form.get("AsyncAmdStatusCallback"):
            return 400, _error(21626, "AsyncAmdStatusCallback is required with AsyncAmd.")
        return None

    def _create(self, account: Account, resource: str, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        kind = "SM" if resource == "Messages" else "CA"
        record = {
            "sid": f"{kind}{uuid4().hex}",
            "account_sid": account.sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "date_created": format_datetime(now, usegmt=True),
            "created": now,
            "form": dict(form),
        }
        with self.lock:
            if resource == "Messages":
                record["body"] = form["Body"]
                self.messages.append(record)
            else:
                self.calls.append(record)
        return _public(record)

    def _list(self, account: Account, resource: str, query: dict[str, str]) -> dict[str, Any]:
        records = self.messages if resource == "Messages" else self.calls
        chosen = [
            _public(r)
            for r in records
            if r["account_sid"] == account.sid
            and r["to"] == query.get("To", r["to"])
            and r["from"] == query.get("From", r["from"])
        ]
        return {resource.lower(): chosen, "next_page_uri": None, "page": 0, "page_size": 50}

    # ---- webhooks to the service ------------------------------------------------------------
    def post_signed(
        self, url: str, params: dict[str, str], account: Account, signature: str = "good"
    ) -> WebhookAnswer:
        """POST a webhook as Twilio does: signed (`good`), signed with a wrong token (`bad`), or not (`none`)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature != "none":
            token = account.token if signature == "good" else uuid4().hex
            headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
        answer = httpx.post(url, data=params, headers=headers, timeout=30)
        return WebhookAnswer(answer.status_code, answer.text)

    def report_status(
        self, message: dict[str, Any], status: str, error_code: str | None = None, signature: str = "good"
    ) -> WebhookAnswer:
        params = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "AccountSid": message["account_sid"],
            "From": message["from"],
            "To": message["to"],
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error_code:
            params["ErrorCode"] = error_code
        url = message["form"]["StatusCallback"]
        return self.post_signed(url, params, self.accounts[message["account_sid"]], signature)

    def text_in(
        self, account: Account, sender: str, to: str, body: str, url: str, signature: str = "good"
    ) -> WebhookAnswer:
        """An inbound text from `sender` to the account's number `to`, posted to the number's SMS URL."""
        params = {
            "MessageSid": f"SM{uuid4().hex}",
            "AccountSid": account.sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        return self.post_signed(url, params, account, signature)

    def call_ended(self, call: dict[str, Any], status: str, signature: str = "good") -> WebhookAnswer:
        """The call's status callback as Twilio posts it for a call that ended as `status` (busy,
        no-answer, failed, canceled: nobody picked up) or that moved on (ringing)."""
        account, form = self.accounts[call["account_sid"]], call["form"]
        params = {"CallSid": call["sid"], "AccountSid": account.sid, "From": call["from"], "To": call["to"]}
        return self.post_signed(form["StatusCallback"], {**params, "CallStatus": status}, account, signature)

    def answer_call(self, call: dict[str, Any], answered_by: str, signature: str = "good") -> CallOutcome:
        """Play the call as Twilio would: fetch its TwiML, report detection, follow redirects, end it."""
        account, form = self.accounts[call["account_sid"]], call["form"]
        outcome = CallOutcome()
        base = {"CallSid": call["sid"], "AccountSid": account.sid, "From": call["from"], "To": call["to"]}
        answer = self.post_signed(form["Url"], {**base, "CallStatus": "in-progress"}, account, signature)
        detection = {**base, "AnsweredBy": answered_by, "MachineDetectionDuration": "4100"}
        self.post_signed(form["AsyncAmdStatusCallback"], detection, account, signature)
        for _ in range(10):  # a bounded number of redirects
            outcome.twiml.append(answer.body)
            if answer.status != 200:
                break
            redirect = _follow(answer.body, outcome)
            if redirect is None:
                break
            answer = self.post_signed(redirect, {**base, "CallStatus": "in-progress"}, account, signature)
        done = {**base, "CallStatus": "completed", "CallDuration": "12"}
        self.post_signed(form["StatusCallback"], done, account, signature)
        return outcome


def _follow(twiml: str, outcome: CallOutcome) -> str | None:
    """Carry out one TwiML document; the URL it redirects to, if it does."""
    for verb in ElementTree.fromstring(twiml):
        if verb.tag == "Play":
            outcome.played.append(verb.text or "")
        elif verb.tag == "Hangup":
            outcome.hung_up = True
            return None
        elif verb.tag == "Redirect":
            return verb.text
    return None


def _is_twiml(text: str) -> bool:
    try:
        return ElementTree.fromstring(text).tag == "Response"
    except ElementTree.ParseError:
        return False


def _basic(account: Account) -> str:
    return "Basic " + base64.b64encode(f"{account.sid}:{account.token}".encode()).decode()


def _error(code: int | None, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("form", "created")}


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET", {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            self._answer("POST", form)

        def _answer(self, method: str, form: dict[str, str]) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests_seen.append({"method": method, "path": self.path, **headers})
            status, body = fake.handle(method, self.path, headers, form)
            if status == -1:
                self.close_connection = True
                return
            if status >= 400:
                fake.refused.append({"path": self.path, "form": form, **(body or {})})
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass  # quiet

    return Handler
