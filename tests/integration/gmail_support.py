"""What the Gmail reply and bounce tests share: the service polling the fake Google's mailboxes
every tenth of a second, a Gmail mailbox registered through the API, and a launched campaign whose
first email has gone out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.fernet import Fernet

from provider_fakes.google import FakeGoogle, SentMessage
from runtime.service import Service
from tests.support import Client, eventually, running_service

FIRST = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "A short note."}
FOLLOW_UP = {"type": "EMAIL", "group": 1, "subject": "Re: Hi", "body": "Just following up."}
SALES = "sales@brand.example"


@contextmanager
def fake_google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle().start()
    try:
        yield fake
    finally:
        fake.stop()


@contextmanager
def polling_service(database_url: str, google: FakeGoogle) -> Iterator[Service]:
    with running_service(
        database_url,
        dev_clock=True,
        credentials_key=Fernet.generate_key().decode(),
        gmail_api_base_url=google.api_base_url,
        public_base_url="http://127.0.0.1:8765",
        gmail_timeout=5.0,
        gmail_reply_poll_seconds=0.1,
    ) as container:
        yield container


def mailbox(client: Client, google: FakeGoogle, address: str) -> dict[str, Any]:
    body = {"channel": "email", "provider": "gmail", "address": address, "daily_limit": 50}
    return client.ok(
        client.post("/v1/sender-accounts", {**body, "credentials": google.mailbox(address)}), 201
    )


def first_email_sent(
    client: Client, google: FakeGoogle, address: str, to: str = "ada@example.com"
) -> tuple[str, SentMessage]:
    """A campaign of an email and a follow-up a day later, launched; its first email, once sent."""
    group = client.lead_group([{"email": to, "first_name": "Ada"}])
    campaign_id = client.campaign(group, [FIRST, FOLLOW_UP])
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    first = eventually(lambda: [m for m in google.messages(address) if m.parsed["To"] == to])[0]
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["email"] == 1)
    return campaign_id, first


def campaign(client: Client, campaign_id: str) -> dict[str, Any]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def suppressed(client: Client) -> list[str]:
    return sorted(s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"])
