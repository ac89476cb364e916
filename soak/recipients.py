"""The recipients who answer while the soak's campaigns run, as the outside world answers: a STOP
text (Twilio's signed webhook to the brand's number), a one-click unsubscribe (a POST to the
`List-Unsubscribe` link of the email they got) or a bounce (a mailer-daemon report delivered to
the sending Gmail mailbox, which the reply poller reads). Each answers once, after their first
message arrived, and tries again on its next pass while the service is down, as Twilio and a
mailer retry."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import httpx

from provider_fakes.google import FakeGoogle, SentMessage, bounce_of
from provider_fakes.twilio import Account, FakeTwilio

ANSWERS = ("stop", "unsubscribe", "bounce")


@dataclass
class Answer:
    kind: str  # one of ANSWERS
    email: str
    phone: str
    twilio: Account  # the brand's, whose number the STOP goes to
    sms_number: str
    done: bool = False


class Recipients:
    """The answers to give, and the pass that gives those whose time has come."""

    def __init__(self, api: str, google: FakeGoogle, twilio: FakeTwilio) -> None:
        self.api, self.google, self.twilio = api, google, twilio
        self.answers: list[Answer] = []

    def answer_due(self) -> None:
        for answer in self.answers:
            if not answer.done:
                answer.done = self._answer(answer)

    def given(self) -> Counter[str]:
        return Counter(answer.kind for answer in self.answers if answer.done)

    def _answer(self, answer: Answer) -> bool:
        """Answers once the recipient got something to answer; True when the answer was taken."""
        if answer.kind == "stop":
            if not any(m["to"] == answer.phone for m in list(self.twilio.messages)):
                return False
            url = f"{self.api}/webhooks/twilio/sms"
            try:
                taken = self.twilio.text_in(answer.twilio, answer.phone, answer.sms_number, "STOP", url)
            except httpx.TransportError:
                return False
            return taken.status < 300
        email = self._email_to(answer.email)
        if email is None:
            return False
        if answer.kind == "bounce":
            self.google.deliver(email.mailbox, bounce_of(email))
            return True
        link = str(email.parsed["List-Unsubscribe"]).strip("<>")
        try:
            return httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code < 300
        except httpx.TransportError:
            return False

    def _email_to(self, address: str) -> SentMessage | None:
        return next((m for m in self.google.messages() if address in str(m.parsed["To"])), None)
