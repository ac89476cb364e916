"""Sender account credentials are write-only and stored encrypted; accounts are checked per provider.

Gmail and Twilio accounts take the keys their provider needs, sealed with the Fernet key from
CREDENTIALS_KEY: no answer, log line or event carries them, the stored row holds ciphertext only,
and `decrypt_credentials` opens it again. Without a key against an external database nothing is
stored (503); the embedded default keeps a generated key in its data dir (0600).
"""

from __future__ import annotations

import logging
import stat
from uuid import UUID

import pytest
from cryptography.fernet import Fernet

from api.schemas import SenderAccountIn
from commands.sending.credentials import cipher_for, decrypt_credentials, load_or_create_key
from runtime.settings import Settings
from tests.support import Client, running_service

KEY = Fernet.generate_key().decode()
SECRET = "1//0gREFRESH-token-very-secret"
GMAIL = {
    "channel": "email",
    "provider": "gmail",
    "address": "Sales@Brand.example",
    "daily_limit": 40,
    "credentials": {"refresh_token": SECRET, "client_id": "id.apps", "client_secret": "s3cr3t-client"},
}
TWILIO = {
    "channel": "sms",
    "provider": "twilio",
    "address": "+1 415 555 0100",
    "daily_limit": 100,
    "warmup": {"enabled": True, "start_limit": 20, "daily_increment": 10},
    "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": "twilio-auth-token-secret"},
}


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {error["field"]: error["error"] for error in response.json()["errors"]}


def test_credentials_are_never_answered_logged_or_stored_in_plaintext_and_decrypt_back(database_url, caplog):
    caplog.set_level(logging.DEBUG)
    with running_service(database_url, credentials_key=KEY) as service:
        client = Client(service)
        created = client.post("/v1/sender-accounts", GMAIL)
        account = client.ok(created, 201)
        assert set(account) == {
            "id",
            "channel",
            "provider",
            "address",
            "daily_limit",
            "limit_today",
            "sends_today",
            "status",
        }
        assert account["address"] == "sales@brand.example" and account["status"] == "active"
        sms = client.ok(client.post("/v1/sender-accounts", TWILIO), 201)
        assert (sms["address"], sms["daily_limit"], sms["limit_today"]) == ("+14155550100", 100, 20)
        listing = client.get("/v1/sender-accounts")
        for text in (created.text, listing.text):
            for secret in (SECRET, "s3cr3t-client", "twilio-auth-token-secret"):
                assert secret not in text

        row = service.db.fetch_one("SELECT * FROM sender_accounts WHERE id = %s", (account["id"],))
        sealed = bytes(row["credentials"])
        assert SECRET.encode() not in sealed and b"refresh_token" not in sealed
        assert all(SECRET not in str(value) for key, value in row.items() if key != "credentials")
        assert (
            decrypt_credentials(service.db, service.parts.credential_cipher, UUID(account["id"]))
            == (GMAIL["credentials"])
        )
        assert decrypt_credentials(service.db, service.parts.credential_cipher, UUID(sms["id"]))[
            "auth_token"
        ] == ("twilio-auth-token-secret")
        events = service.db.fetch_all("SELECT state FROM campaigns_events")
        assert all(SECRET.encode() not in bytes(event["state"]) for event in events)
    assert SECRET not in caplog.text
    assert SECRET not in repr(SenderAccountIn.model_validate(GMAIL))
    assert KEY not in repr(Settings(credentials_key=KEY))


def test_missing_or_unknown_credential_keys_are_a_422_naming_the_keys(database_url):
    with running_service(database_url, credentials_key=KEY) as service:
        client = Client(service)
        missing = _errors(
            client.post("/v1/sender-accounts", {**GMAIL, "credentials": {"refresh_token": "x"}})
        )
        assert "missing: client_id, client_secret" in missing["body.credentials"]
        unknown = {**TWILIO["credentials"], "password": SECRET}
        response = client.post("/v1/sender-accounts", {**TWILIO, "credentials": unknown})
        assert "unknown twilio credential keys: password" in _errors(response)["body.credentials"]
        assert SECRET not in response.text
        blank = {**TWILIO["credentials"], "auth_token": ""}
        assert (
            "auth_token"
            in _errors(client.post("/v1/sender-accounts", {**TWILIO, "credentials": blank}))[
                "body.credentials"
            ]
        )
        assert (
            "missing"
            in _errors(client.post("/v1/sender-accounts", {**GMAIL, "credentials": None}))["body.credentials"]
        )
        assert client.ok(client.get("/v1/sender-accounts"))["items"] == []


def test_addresses_providers_and_warm_ups_that_could_never_send_are_refused(database_url):
    with running_service(database_url, credentials_key=KEY) as service:
        client = Client(service)
        for body, field in [
            ({**TWILIO, "address": "4155550100"}, "body.address"),
            ({**TWILIO, "address": "+1415555"}, "body.address"),
            ({**GMAIL, "address": "not-an-email"}, "body.address"),
            ({**TWILIO, "channel": "voice", "address": "sales@brand.example"}, "body.address"),
            ({**TWILIO, "warmup": {"enabled": True, "start_limit": 500}}, "body.warmup.start_limit"),
            ({**TWILIO, "warmup": {"enabled": True, "daily_increment": 0}}, "body.warmup.daily_increment"),
        ]:
            assert field in _errors(client.post("/v1/sender-accounts", body)), body
        for channel, provider in [("email", "twilio"), ("sms", "gmail"), ("voice", "gmail")]:
            response = client.post(
                "/v1/sender-accounts", {**TWILIO, "channel": channel, "provider": provider}
            )
            assert response.status_code == 422, (channel, provider, response.text)
        assert client.ok(client.get("/v1/sender-accounts"))["items"] == []


def test_the_same_channel_and_address_twice_is_a_409(database_url):
    with running_service(database_url, credentials_key=KEY) as service:
        client = Client(service)
        client.ok(client.post("/v1/sender-accounts", TWILIO), 201)
        again = client.post("/v1/sender-accounts", {**TWILIO, "address": "+14155550100"})
        assert again.status_code == 409, again.text
        assert again.headers["content-type"].startswith("application/problem+json")


def test_without_a_key_on_an_external_database_credentials_are_refused_not_stored(database_url):
    with running_service(database_url) as service:
        assert service.parts.credential_cipher is None
        client = Client(service)
        refused = client.post("/v1/sender-accounts", GMAIL)
        assert refused.status_code == 503, refused.text
        assert "CREDENTIALS_KEY" in refused.json()["detail"]
        sandbox = {"channel": "email", "provider": "sandbox", "address": "s@brand.example"}
        client.ok(client.post("/v1/sender-accounts", {**sandbox, "credentials": {"any": "thing"}}), 201)
        row = service.db.fetch_one("SELECT credentials FROM sender_accounts")
        assert row["credentials"] is None  # the sandbox takes no credentials: dropped, not stored


def test_the_embedded_default_keeps_one_key_in_its_data_dir_readable_by_its_owner_only(tmp_path):
    key = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "credentials.key").stat().st_mode) == 0o600
    before_restart, after_restart = cipher_for(None, tmp_path), cipher_for(None, tmp_path)
    assert after_restart.open(before_restart.seal({"auth_token": "t"})) == {"auth_token": "t"}
    assert key not in repr(before_restart)
    assert cipher_for(None, None) is None
    with pytest.raises(ValueError, match="CREDENTIALS_KEY"):
        cipher_for("not-a-fernet-key", None)
