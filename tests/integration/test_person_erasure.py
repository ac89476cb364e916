"""Erasing a person (crypto-shredding): after `contacts erase` (or the admin route) none of their
values is left in any text, JSON or bytea column of the database, nor in an export; the campaign's
figures, `audit credits` (hash chain included) and `audit consent` still pass; the person stays
suppressed, so a contact imported again with their address is never contacted; erasing twice
records one erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from consumers.transport.messages import DEAD_LETTER_TOPIC, EVENTS_TOPIC, SEND_TOPICS
from domain.enrollment import Enrollment
from domain.erasure import PersonErasure
from runtime.cli import main
from tests.personal_data import ANN, ANN_VALUES, BOB, STEPS, topic_messages, topic_values_found, values_found
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
        asked = datetime.now(UTC)
        answer = admin.post(f"/admin/v1/brands/{client.brand_id}/erasures", json={"address": ANN["phone"]})
        answered = datetime.now(UTC)
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
        assert erasures[0].erased_by == "admin api" and asked <= erasures[0].erased_at <= answered

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


def test_after_erasure_no_kafka_topic_holds_any_of_the_persons_values(
    database_url, kafka_bootstrap, tmp_path: Path, monkeypatch
):
    """Over Kafka the campaign puts the person's enrollment on the send topics and her events on
    `campaign.events`; after erasure none of the service's topics, read from the beginning, holds
    any of her values, and neither does the database nor an export."""
    key = Fernet.generate_key().decode()
    with running_service(
        database_url, kafka=kafka_bootstrap, credentials_key=key, admin_api_key=ADMIN_KEY
    ) as service:
        prefix = service.settings.kafka_topic_prefix
        topics = [prefix + t for t in (*SEND_TOPICS.values(), EVENTS_TOPIC, DEAD_LETTER_TOPIC)]
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group([ANN, BOB]), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: campaign(client, campaign_id)["credits"]["consumed"] == 4, timeout=60)
        row = service.db.fetch_one("SELECT id FROM contacts WHERE email = %s", (ANN_VALUES[0],))
        assert row is not None
        ann = str(row["id"])
        enrollment = str(Enrollment.create_id(UUID(campaign_id), row["id"]))

        def holding(*marks: str) -> dict[str, list[str]]:
            """Per topic, which of the marks its messages hold."""
            read = topic_messages(kafka_bootstrap, topics)
            return {
                t[len(prefix) :]: [m for m in marks if any(m.encode() in x for x in read[t])] for t in topics
            }

        # Not vacuous: her enrollment went through both send topics, her events through the feed.
        eventually(
            lambda: (
                (held := holding(ann, enrollment))["sends.email"] == [enrollment]
                and held["sends.sms"] == [enrollment]
                and ann in held["campaign.events"]
            ),
            timeout=60,
        )
        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        answer = admin.post(f"/admin/v1/brands/{client.brand_id}/erasures", json={"address": ANN["email"]})
        assert answer.status_code == 200, answer.text
        # The feed goes on past the erasure: what was published after it is searched too.
        erasure = str(PersonErasure.create_id(client.brand_id, ann))
        eventually(lambda: erasure in holding(erasure)["campaign.events"], timeout=60)
        in_topics = topic_values_found(kafka_bootstrap, topics, ANN_VALUES)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENTIALS_KEY", key)
    out = tmp_path / "events.jsonl"
    assert main(["events", "export", "--format", "jsonl", "--out", str(out)]) == 0
    exported = out.read_text().lower()
    left = (
        in_topics + values_found(database_url, ANN_VALUES) + [v for v in ANN_VALUES if v.lower() in exported]
    )
    print("search of the database, the Kafka topics and an export after erasure:", left or "nothing found")
    assert left == []


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
        refused = admin.post(
            f"/admin/v1/brands/{erasing.brand_id}/erasures", json={"address": "not an address"}
        )
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["body.address"]


def test_an_address_nobody_was_imported_with_is_erased_once_and_a_national_phone_reads_as_american(
    database_url,
):
    with running_service(
        database_url, credentials_key=Fernet.generate_key().decode(), admin_api_key=ADMIN_KEY
    ) as service:
        client = Client(service)
        client.lead_group([BOB])
        client.ok(client.post("/v1/suppressions", {"address": "walk-in@example.com", "reason": "asked"}), 201)
        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        erasures = f"/admin/v1/brands/{client.brand_id}/erasures"

        seal = service.store.personal_data
        assert seal is not None
        person = f"hmac:{seal.address_hash(client.brand_id, 'walk-in@example.com')}"
        first = admin.post(erasures, json={"address": "walk-in@example.com"}).json()
        [erased] = list(service.store.events.get(PersonErasure.create_id(client.brand_id, person)))
        assert erased.contact_id is None  # its consent alone: recorded at the first call
        again = admin.post(erasures, json={"address": "walk-in@example.com"}).json()
        assert (first["first_time"], first["contact_ids"], again["first_time"]) == (True, [], False)
        assert len(list(service.store.events.get(PersonErasure.create_id(client.brand_id, person)))) == 1

        national = BOB["phone"].removeprefix("+1")  # as an American operator would type it
        answer = admin.post(erasures, json={"address": f"({national[:3]}) {national[3:6]}-{national[6:]}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["first_time"] is True and len(answer.json()["contact_ids"]) == 1
        placeholders = sorted(s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"])
        email_one, phone_one = (
            (p for p in placeholders if "@" in p),
            (p for p in placeholders if "@" not in p),
        )
        assert [len(p) for p in email_one] == [len("erased-") + 32 + len("@erased.invalid")] * 2
        assert all(p.endswith("@erased.invalid") for p in placeholders if "@" in p)
        assert [len(p) for p in phone_one] == [len("erased-") + 32]


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
    assert f"brand {UUID(int=1)}" in capsys.readouterr().err and "does not exist"
    assert main(["contacts", "erase", "--brand", brand, "--address", "not an address"]) == 1
    assert "not an address" in capsys.readouterr().err
    monkeypatch.delenv("CREDENTIALS_KEY")
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "s" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    assert main(["contacts", "erase", "--brand", brand, "--address", "ann@example.com"]) == 1
    assert "personal data are not sealed: set CREDENTIALS_KEY to erase a person" in capsys.readouterr().err
