"""Erasing a person (crypto-shredding): after `contacts erase` (or the admin route) none of their
values is left in any text, JSON or bytea column of the database, nor in an export; the campaign's
figures, `audit credits` (hash chain included) and `audit consent` still pass; the person stays
suppressed, so a contact imported again with their address is never contacted; erasing twice
records one erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from domain.erasure import PersonErasure
from runtime.cli import main
from tests.personal_data import ANN, ANN_VALUES, BOB, STEPS, values_found
from tests.support import Client, eventually, running_service

ADMIN_KEY = "admin-erasure-test"


def campaign(client: Client, campaign_id: str) -> dict[str, Any]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def test_an_erased_person_is_found_nowhere_yet_history_verifies_and_they_stay_suppressed(
    database_url, tmp_path: Path, monkeypatch, capsys
):
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key, admin_api_key=ADMIN_KEY) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group([ANN, BOB]), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: campaign(client, campaign_id)["credits"]["consumed"] == 4)
        assert values_found(database_url, ANN_VALUES)  # the search does see them before
        before = campaign(client, campaign_id)

        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        answer = admin.post(f"/admin/v1/brands/{client.brand_id}/erasures", json={"address": ANN["phone"]})
        assert answer.status_code == 200, answer.text
        erased = answer.json()
        assert (erased["addresses"], erased["first_time"], len(erased["contact_ids"])) == (2, True, 1)
        again = admin.post(f"/admin/v1/brands/{client.brand_id}/erasures", json={"address": ANN["phone"]})
        assert again.status_code == 200 and again.json()["first_time"] is False

        after = campaign(client, campaign_id)
        assert (after["metrics"], after["credits"]) == (before["metrics"], before["credits"])
        events = client.ok(client.get(f"/v1/campaign/{campaign_id}/events", params={"limit": 500}))["items"]
        enrolled = [e["data"]["addresses"] for e in events if e["type"] == "ContactEnrolled"]
        assert sorted(enrolled, key=str) == sorted(
            [
                {"email": "erased", "sms": "erased", "voicemail": "erased"},
                dict.fromkeys(("email", "sms", "voicemail"), "sealed"),
            ],
            key=str,
        )
        erasures = list(
            service.store.events.get(PersonErasure.create_id(client.brand_id, erased["contact_ids"][0]))
        )
        assert [type(e).__name__ for e in erasures] == ["PersonErased"]
        assert erasures[0].contact_id == UUID(erased["contact_ids"][0])

        # Imported again later, with the same address: suppressed by keyed hash, never contacted.
        again_id = client.campaign(
            client.lead_group([{"email": ANN["email"]}, {"email": "cy@example.com"}]),
            STEPS[1:] and [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}],
        )
        client.ok(client.post(f"/v1/campaign/{again_id}/launch"))
        eventually(lambda: campaign(client, again_id)["status"] == "COMPLETED")
        assert [m["to"] for m in client.outbox(again_id)] == ["cy@example.com"]
        client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
        client.ok(client.post(f"/v1/campaign/{again_id}/archive"))
        # ...and erased again (the re-imported contact), leaving the first erasure as it was.
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("CREDENTIALS_KEY", key)
    assert main(["contacts", "erase", "--brand", str(client.brand_id), "--address", ANN["email"]]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["first_time"] is True

    out = tmp_path / "events.jsonl"
    assert main(["events", "export", "--format", "jsonl", "--out", str(out)]) == 0
    exported = out.read_text()
    rows = [json.loads(line) for line in exported.splitlines()]
    addresses = [json.loads(row["data"])["addresses"] for row in rows if row["type"] == "ContactEnrolled"]
    assert {"email": "erased", "sms": "erased", "voicemail": "erased"} in addresses
    left = values_found(database_url, ANN_VALUES) + [v for v in ANN_VALUES if v.lower() in exported.lower()]
    print("search after erasure:", left or "nothing found")
    assert left == []
    assert main(["audit", "credits", "--brand", str(client.brand_id)]) == 0
    assert main(["audit", "consent", "--brand", str(client.brand_id)]) == 0


def test_an_erasure_in_one_brand_leaves_the_same_address_in_another_brand_alone(database_url):
    with running_service(
        database_url, credentials_key=Fernet.generate_key().decode(), admin_api_key=ADMIN_KEY
    ) as service:
        erasing, other = Client(service), Client(service)
        erasing.lead_group([ANN])
        other.lead_group([ANN])
        other.ok(other.post("/v1/suppressions", {"address": ANN["email"], "reason": "asked"}), 201)
        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        answer = admin.post(f"/admin/v1/brands/{erasing.brand_id}/erasures", json={"address": ANN["email"]})
        assert answer.status_code == 200, answer.text

        kept = service.db.fetch_all("SELECT email FROM contacts WHERE brand_id = %s", (other.brand_id,))
        assert [c["email"] for c in kept] == [ANN["email"].lower()]
        assert [s["address"] for s in other.ok(other.get("/v1/suppressions"))["items"]] == [
            ANN["email"].lower()
        ]
        seal = service.store.personal_data
        assert seal is not None
        hashes = {
            seal.address_hash(brand, ANN["email"].lower()) for brand in (erasing.brand_id, other.brand_id)
        }
        assert len(hashes) == 2
        assert (
            admin.post(
                "/admin/v1/brands/00000000-0000-0000-0000-000000000000/erasures",
                json={"address": ANN["email"]},
            ).status_code
            == 404
        )
        assert (
            admin.post(
                f"/admin/v1/brands/{erasing.brand_id}/erasures", json={"address": "not an address"}
            ).status_code
            == 422
        )


def test_an_address_with_underscore_or_percent_blanks_only_texts_that_quote_it_exactly(database_url):
    """`_` and `%` may stand in an email's local part: matched as LIKE patterns, erasing
    `a_b%c@example.com` blanked texts quoting `axbyyc@example.com` too, in any brand."""
    with running_service(
        database_url, credentials_key=Fernet.generate_key().decode(), admin_api_key=ADMIN_KEY
    ) as service:
        erasing = Client(service)
        service.db.execute(
            "INSERT INTO sandbox_refusals (message_key, error) VALUES ('k1', %s), ('k2', %s)",
            ("550 no mailbox a_b%c@example.com", "550 no mailbox axbyyc@example.com"),
        )
        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        answer = admin.post(
            f"/admin/v1/brands/{erasing.brand_id}/erasures", json={"address": "a_b%c@example.com"}
        )
        assert answer.status_code == 200, answer.text
        left = service.db.fetch_all("SELECT message_key FROM sandbox_refusals ORDER BY message_key")
        assert [row["message_key"] for row in left] == ["k2"]


def test_the_command_line_refuses_an_unknown_brand_a_malformed_address_and_a_missing_key(
    database_url, monkeypatch, capsys
):
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key, roles=()) as service:
        brand = str(Client(service).brand_id)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENTIALS_KEY", key)
    assert main(["contacts", "erase", "--brand", str(UUID(int=1)), "--address", "ann@example.com"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["contacts", "erase", "--brand", brand, "--address", "not an address"]) == 1
    assert "address" in capsys.readouterr().err
    monkeypatch.delenv("CREDENTIALS_KEY")
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "s" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    assert main(["contacts", "erase", "--brand", brand, "--address", "ann@example.com"]) == 1
    assert "CREDENTIALS_KEY" in capsys.readouterr().err
