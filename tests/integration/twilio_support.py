"""What the Twilio tests share: the service wired to the fake Twilio and served over loopback HTTP,
and a brand with Twilio numbers registered through the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet

from provider_fakes.twilio import Account, FakeTwilio
from runtime.service import Service
from tests.served import loopback_socket, served_over_http
from tests.support import Client, running_service

SMS_NUMBER, VOICE_NUMBER = "+14155550199", "+14155550198"


@contextmanager
def service_with_twilio(database_url: str, fake: FakeTwilio, **settings: Any) -> Iterator[Service]:
    sock = loopback_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with (
        running_service(
            database_url,
            twilio_api_base_url=fake.url,
            public_base_url=public,
            credentials_key=Fernet.generate_key().decode(),
            **settings,
        ) as service,
        served_over_http(service, sock),
    ):
        yield service


@dataclass
class TwilioBrand:
    client: Client
    account: Account
    public_url: str

    @property
    def sms_url(self) -> str:
        return f"{self.public_url}/webhooks/twilio/sms"


def twilio_brand(service: Service, fake: FakeTwilio, **client: Any) -> TwilioBrand:
    """A brand whose SMS and voice numbers are one Twilio account's, registered with its credentials."""
    brand = Client(service, **client)
    account = fake.add_account([SMS_NUMBER, VOICE_NUMBER])
    credentials = {"account_sid": account.sid, "auth_token": account.token}
    for channel, number in (("sms", SMS_NUMBER), ("voice", VOICE_NUMBER)):
        body = {"channel": channel, "provider": "twilio", "address": number, "credentials": credentials}
        brand.ok(brand.post("/v1/sender-accounts", {**body, "daily_limit": 1000}), 201)
    return TwilioBrand(brand, account, service.settings.public_url)
