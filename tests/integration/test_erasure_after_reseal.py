"""A person enrolled before sealing (their `ContactEnrolled` and `ConsentOpened` stored with plain
addresses, as a service without CREDENTIALS_KEY writes them) is erased for good once
`events reseal` has run: none of their values is left anywhere in the database or in an export,
`audit credits` (hash chain included) and `audit consent` pass, and the campaign's figures, even
rebuilt from the re-sealed events, are unchanged. A second `events reseal` changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import Fernet
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

from commands.personal_data.resealing import plain_events
from domain.resealing import EventResealing
from runtime.cli import main
from storage.compact_states import expanded
from tests.integration.test_consent_at_send_time import DAY, FOLLOW_UP, LEADS
from tests.integration.test_person_erasure import ANN, ANN_VALUES, BOB, STEPS, campaign, values_found
from tests.support import Client, eventually, running_service


def _figures(database_url: str, key: str, api_key: str, campaign_id: str) -> dict[str, object]:
    with running_service(database_url, credentials_key=key, roles=()) as service:
        client = TestClient(service.http_app())
        client.headers["Authorization"] = f"Bearer {api_key}"
        answer = client.get(f"/v1/campaign/{campaign_id}")
        assert answer.status_code == 200, answer.text
        return {k: answer.json()[k] for k in ("metrics", "credits", "status")}


def test_a_person_enrolled_before_sealing_is_erased_everywhere_after_a_reseal(
    database_url, tmp_path: Path, monkeypatch, capsys
):
    with running_service(database_url) as service:  # no CREDENTIALS_KEY: events stored in plain text
        assert service.store.personal_data is None
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group([ANN, BOB]), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        # completion, settlement's consumption and the metrics are separate passes: the figures a
        # replay must give back are the ones of a campaign all of them have done with
        eventually(
            lambda: (
                (found := campaign(client, campaign_id))["status"] == "COMPLETED"
                and found["credits"]["consumed"] == 4
                and found["credits"]["outstanding"] == 0
            )
        )
        client.ok(client.post("/v1/suppressions", {"address": ANN["email"], "reason": "asked"}), 201)
        before = {k: campaign(client, campaign_id)[k] for k in ("metrics", "credits", "status")}
    assert any(hit.startswith("campaigns_events.") for hit in values_found(database_url, ANN_VALUES))

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENTIALS_KEY", key)
    brand = str(client.brand_id)
    assert main(["events", "reseal", "--batch-size", "2"]) == 0
    run = capsys.readouterr()
    summary = json.loads(run.out.strip().splitlines()[-1])
    # Ann's and Bob's enrolments, Ann's consent; two batches of at most two
    assert summary == {
        "brands": [{"brand_id": brand, "resealed": 3, "batches": 2, "refused": []}],
        "resealed": 3,
        "refused": 0,
    }
    assert f"events reseal {brand}: 3 events re-sealed in 2 batches" in run.err
    assert [
        hit for hit in values_found(database_url, ANN_VALUES) if hit.startswith("campaigns_events.")
    ] == []
    assert main(["events", "reseal", "--brand", brand]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["resealed"] == 0

    assert main(["contacts", "erase", "--brand", brand, "--address", ANN["email"]]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["first_time"] is True
    out = tmp_path / "events.jsonl"
    assert main(["events", "export", "--format", "jsonl", "--out", str(out)]) == 0
    exported = out.read_text()
    addresses = [json.loads(json.loads(line)["data"]) for line in exported.splitlines()]
    assert {"email": "erased", "sms": "erased", "voicemail": "erased"} in [
        data["addresses"] for data in addresses if "addresses" in data
    ]
    left = values_found(database_url, ANN_VALUES) + [v for v in ANN_VALUES if v.lower() in exported.lower()]
    print("search after reseal and erasure:", left or "nothing found")
    assert left == []
    assert main(["audit", "credits", "--brand", brand]) == 0
    assert main(["audit", "consent", "--brand", brand]) == 0

    assert main(["replay"]) == 0  # the figures, rebuilt from the re-sealed events
    assert _figures(database_url, key, client.api_key, campaign_id) == before


def test_the_command_line_refuses_a_missing_key_an_unknown_brand_and_a_batch_of_none(
    database_url, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENTIALS_KEY", Fernet.generate_key().decode())
    assert main(["events", "reseal", "--brand", "00000000-0000-0000-0000-000000000001"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["events", "reseal", "--batch-size", "0"]) == 2
    assert "--batch-size" in capsys.readouterr().err
    assert main(["events", "reseal", "--batch-size", "9" * 30]) == 2  # a batch holds every writer
    assert "1 to 10,000" in capsys.readouterr().err
    monkeypatch.delenv("CREDENTIALS_KEY")
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "s" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    assert main(["events", "reseal"]) == 1
    assert "CREDENTIALS_KEY" in capsys.readouterr().err


def test_follow_ups_of_enrolments_resealed_while_the_service_runs_still_go_out(database_url):
    """A service started with a key over enrolments made before sealing seals them by itself (the
    scheduler's resealer); the send path opens the re-sealed addresses; the log followers take the
    record's events in their stride (nothing parked)."""
    with running_service(database_url, dev_clock=True) as service:  # no key: plain enrolments
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UP)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(client.outbox(campaign_id)) == 2)
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key, dev_clock=True) as service:
        # The scheduler's resealer seals them as it starts: the upgrade's data migration.
        eventually(lambda: plain_events(service.store, database_url, client.brand_id) == 0)
        records = service.db.fetch_all(
            "SELECT state FROM campaigns_events WHERE topic = %s", (get_topic(EventResealing.EventsResealed),)
        )
        states = [json.loads(expanded(bytes(r["state"]))) for r in records]  # a later event: compacted
        assert [state["resealed_by"] for state in states] == ["the scheduler"]
        assert sum(len(state["rows"]) for state in states) == 2
        api = TestClient(service.http_app())
        api.headers["Authorization"] = f"Bearer {client.api_key}"
        assert api.post("/v1/dev/clock/advance", json={"seconds": 2 * DAY}).status_code == 200
        eventually(lambda: api.get(f"/v1/campaign/{campaign_id}").json()["status"] == "COMPLETED")
        sent = api.get(f"/v1/campaign/{campaign_id}").json()["metrics"]["sent"]
        assert sent == {"email": 4, "sms": 2, "voicemail": 0}
        outbox = api.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}).json()["items"]
        assert sorted(m["to"] for m in outbox) == sorted(
            ["ann@example.com"] * 2 + ["bob@example.com"] * 2 + ["+14155550100", "+14155550101"]
        )
        assert service.db.fetch_all("SELECT follower, error FROM parked_items") == []
