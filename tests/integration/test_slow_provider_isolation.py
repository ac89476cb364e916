"""A provider that does not answer holds back only its own channel: texts launched while every
email call hangs still go out (in process, each channel has its own relay and worker)."""

from __future__ import annotations

import threading
from typing import Any

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from consumers.providers.sandbox import SandboxProvider
from tests.support import Client, eventually, running_service


class HangingEmail(Provider):
    """The sandbox, except that every email call waits until the test lets it go."""

    def __init__(self, sandbox: SandboxProvider) -> None:
        self.sandbox, self.released, self.waiting = sandbox, threading.Event(), threading.Event()

    def send(self, message: OutboundMessage) -> SendOutcome:
        if message.channel == "email":
            self.waiting.set()
            self.released.wait(60)
        return self.sandbox.send(message)

    def find_sent(self, key: str) -> Any:
        return self.sandbox.find_sent(key)


def test_texts_go_out_while_every_email_call_hangs(database_url):
    adapters: list[HangingEmail] = []

    def providers(db: Any) -> dict[str, Any]:
        adapters.append(HangingEmail(SandboxProvider(db)))
        return {"sandbox": adapters[-1]}

    with running_service(database_url, providers=providers) as service:
        [hanging] = adapters
        try:
            client = Client(service)
            client.sender("email", "sales@brand.example")
            client.sender("sms", "+14155550100")
            emails = client.campaign(
                client.lead_group([{"email": "ada@example.com"}]),
                [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}],
            )
            client.ok(client.post(f"/v1/campaign/{emails}/launch"))
            eventually(hanging.waiting.is_set)  # the email worker is stuck in its provider call

            texts = client.campaign(
                client.lead_group([{"phone": "+14155550111"}, {"phone": "+14155550112"}]),
                [{"type": "SMS", "group": 0, "body": "Hello"}],
            )
            client.ok(client.post(f"/v1/campaign/{texts}/launch"))

            sent = eventually(lambda: len(client.outbox(texts)) == 2 and client.outbox(texts))
            assert {item["to"] for item in sent} == {"+14155550111", "+14155550112"}
            assert client.outbox(emails) == []  # still hanging
        finally:
            hanging.released.set()
        eventually(lambda: len(client.outbox(emails)) == 1)
