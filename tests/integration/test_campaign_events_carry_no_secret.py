"""A campaign's event history never shows a sender account's credentials, over HTTP, in an export
or in a credit audit, even when the brand's accounts hold some (tests/unit/test_event_docs.py
checks no event has a field for one)."""

from __future__ import annotations

from cryptography.fernet import Fernet

from runtime.cli import main
from tests.support import Client, contacts, eventually, running_service

SECRETS = ("1//0gREFRESH-token-very-secret", "s3cr3t-client", "twilio-auth-token-secret")
GMAIL = {
    "channel": "email",
    "provider": "gmail",
    "address": "mailbox@brand.example",
    "credentials": {"refresh_token": SECRETS[0], "client_id": "id.apps", "client_secret": SECRETS[1]},
}
TWILIO = {
    "channel": "sms",
    "provider": "twilio",
    "address": "+14155550100",
    "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": SECRETS[2]},
}


def test_neither_the_events_route_nor_the_export_nor_the_audit_shows_credentials(
    database_url, tmp_path, monkeypatch, capsys
):
    with running_service(database_url, credentials_key=Fernet.generate_key().decode()) as service:
        client = Client(service)
        client.ok(client.post("/v1/sender-accounts", GMAIL), 201)
        client.ok(client.post("/v1/sender-accounts", TWILIO), 201)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550000")
        steps = [
            {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
            {"type": "SMS", "group": 0, "body": "Hello"},
        ]
        campaign_id = client.campaign(client.lead_group(contacts(2)), steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def all_sent() -> str:
            answer = client.get(f"/v1/campaign/{campaign_id}/events", params={"limit": 500})
            return answer.text if answer.text.count('"StepSent"') == 4 else ""

        text = eventually(all_sent)
        assert "sender_account_id" in text
        for secret in SECRETS:
            assert secret not in text

    monkeypatch.setenv("DATABASE_URL", database_url)
    for form in ("jsonl", "csv"):
        out = tmp_path / f"history.{form}"
        assert (
            main(["events", "export", "--brand", str(client.brand_id), "--format", form, "--out", str(out)])
            == 0
        )
        exported = out.read_text()
        assert "StepSent" in exported and all(secret not in exported for secret in SECRETS)
    assert main(["audit", "credits", "--brand", str(client.brand_id), "--format", "json"]) == 0
    audit = capsys.readouterr().out
    assert '"send"' in audit and all(secret not in audit for secret in SECRETS)
