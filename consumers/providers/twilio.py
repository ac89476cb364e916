"""The Twilio provider: SMS through Messages, voicemail drop through Calls with answering-machine
detection, each sender account with its own account SID and auth token.

A voicemail call is placed with `machine_detection="DetectMessageEnd"` and `async_amd`, and its
TwiML URL, AMD callback and status callback all point at `/webhooks/twilio/voice`: that webhook
plays the step's audio once detection says a machine reached the beep, and hangs up on a person.
Every callback URL carries the step's key (`?key=`), so a report finds its step even if the
create call's answer was lost. Idempotency: Twilio has no idempotency key for Messages or Calls,
so before each call a row (account, to, from, body, time) is written under the step's key
(consumers/providers/twilio_sends.py) and the SID added when the answer arrives. `find_sent`
answers from that SID; when the answer was lost it lists the account's messages (or calls) to and
from the same numbers since the attempt, matching the body, and adopts what it finds; only when
Twilio has nothing is the step sent again. Errors: 21610 (the recipient opted out) is permanent
and asks the send path to suppress the number for the brand; 21211 (invalid number) and other
refusals are permanent; 20429, 5xx and lost answers are transient, retried with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from commands.sending.providers import OutboundMessage, Provider, ReconcileFailed, SendOutcome
from consumers.providers.calls_in_flight import CallsInFlight
from consumers.providers.twilio_http import RoutedTwilioHttpClient
from consumers.providers.twilio_sends import EarlierSend, earlier_send, remember_attempt, remember_sid
from domain.errors import Unavailable
from storage.database import Database

log = logging.getLogger(__name__)
OPTED_OUT, INVALID_NUMBER, TOO_MANY_REQUESTS = 21610, 21211, 20429
CLOCK_SKEW = timedelta(minutes=5)  # between our database's clock and Twilio's


class TwilioProvider(Provider):
    def __init__(
        self,
        db: Database,
        credentials: Callable[[UUID], dict[str, str]],
        api_base_url: str,
        public_base_url: str,
        timeout: float = 10.0,
        calls: CallsInFlight | None = None,
    ) -> None:
        self.db = db
        self.calls = calls or CallsInFlight()  # texts and calls each have their own places
        self.credentials = credentials
        self.api_base_url = api_base_url
        self.public_base_url = public_base_url.rstrip("/")
        self.timeout = timeout
        self._clients: dict[UUID, Any] = {}

    def _client(self, account_id: UUID) -> Any:
        if account_id not in self._clients:
            given = self.credentials(account_id)
            http = RoutedTwilioHttpClient(self.api_base_url, self.timeout)
            self._clients[account_id] = Client(given["account_sid"], given["auth_token"], http_client=http)
        return self._clients[account_id]

    def callback(self, webhook: str, key: str) -> str:
        return f"{self.public_base_url}/webhooks/twilio/{webhook}?key={quote(key, safe='')}"

    def send(self, message: OutboundMessage) -> SendOutcome:
        account_id = UUID(message.sender_account_id)
        kind = "call" if message.channel == "voicemail" else "message"
        body = message.audio_url if kind == "call" else message.body
        key = message.message_key
        try:
            client = self._client(account_id)
        except (KeyError, Unavailable) as missing:
            reason = f"missing {missing}" if isinstance(missing, KeyError) else "they do not open"
            return SendOutcome(error=f"twilio: the sender account's credentials are unusable ({reason})")
        remember_attempt(self.db, key, account_id, kind, message.to, message.sender, body)
        try:
            with self.calls.place(message.channel):
                sid = self._create(client, kind, message, key, body)
        except TwilioRestException as refused:
            return refusal(refused)
        except requests.RequestException as lost:  # the request may or may not have arrived
            return SendOutcome(error=f"twilio: no answer ({type(lost).__name__}); reconciled before a retry")
        remember_sid(self.db, key, sid)
        return SendOutcome(provider_message_id=sid)

    def _create(self, client: Any, kind: str, message: OutboundMessage, key: str, body: str | None) -> str:
        """One Messages or Calls create request; the new message's or call's SID."""
        if kind == "message":
            return str(
                client.messages.create(
                    to=message.to,
                    from_=message.sender,
                    body=body,
                    status_callback=self.callback("status", key),
                ).sid
            )
        voice = self.callback("voice", key)
        return str(
            client.calls.create(
                to=message.to,
                from_=message.sender,
                url=voice,
                machine_detection="DetectMessageEnd",
                async_amd="true",
                async_amd_status_callback=voice,
                status_callback=voice,
            ).sid
        )

    def find_sent(self, message_key: str) -> str | None:
        earlier = earlier_send(self.db, message_key)
        if earlier is None or earlier.sid is not None:
            return earlier.sid if earlier else None
        try:
            with self.calls.place("voicemail" if earlier.kind == "call" else "sms"):
                found = self._look_up(earlier)
        except (TwilioRestException, requests.RequestException) as unknown:
            raise ReconcileFailed(f"twilio lookup failed ({type(unknown).__name__})") from None
        if found is not None:
            remember_sid(self.db, message_key, found)
        return found

    def _look_up(self, earlier: EarlierSend) -> str | None:
        """The SID of a message (or call) Twilio took under the lost answer, if it took one."""
        client = self._client(earlier.sender_account_id)
        since = earlier.attempted_at - CLOCK_SKEW
        if earlier.kind == "message":
            for sent in client.messages.list(
                to=earlier.to, from_=earlier.sender, date_sent_after=since, limit=50
            ):
                created = sent.date_created or sent.date_sent
                if sent.body == earlier.body and (created is None or created >= since):
                    return str(sent.sid)
            return None
        for call in client.calls.list(to=earlier.to, from_=earlier.sender, start_time_after=since, limit=50):
            return str(call.sid)
        return None


def refusal(refused: TwilioRestException) -> SendOutcome:
    """What a Twilio error means for the step (its words, never the request's URL)."""
    words = f"twilio {refused.code or refused.status}: {refused.msg}"
    if refused.code == OPTED_OUT:
        return SendOutcome(error=words, permanent=True, opted_out=True)
    if refused.code == TOO_MANY_REQUESTS or refused.status == 429 or refused.status >= 500:
        return SendOutcome(error=words)
    return SendOutcome(error=words, permanent=True)
