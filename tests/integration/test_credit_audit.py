"""`campaign-service audit credits`: a real brand's ledger from raw events; a clean history passes,
an event row edited with SQL afterwards is caught by the hash chain, naming the row."""

from __future__ import annotations

import json

import psycopg
import pytest

from runtime.cli import main
from tests.stored_rows import edit_states
from tests.support import Client, contacts, eventually, running_service

STEPS = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]


@pytest.fixture
def brand(database_url, monkeypatch):
    """A brand that launched a campaign to 4 contacts, all sent and settled, then archived it."""
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        campaign_id = client.campaign(client.lead_group(contacts(4)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["consumed"] == 4)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {"id": str(client.brand_id), "campaign": campaign_id, "url": database_url}


def test_a_clean_history_passes_with_every_send_traced(brand, capsys):
    assert main(["audit", "credits", "--brand", brand["id"], "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == [] and report["chain"]["intact"]
    kinds = [entry["kind"] for entry in report["entries"]]
    assert kinds.count("grant") == 1 and kinds.count("reservation") == 1 and kinds.count("send") == 4
    sends = [entry for entry in report["entries"] if entry["kind"] == "send"]
    assert all(s["campaign_id"] == brand["campaign"] and s["provider_message_id"] for s in sends)
    assert len({s["contact_id"] for s in sends}) == 4
    assert report["balance"] == 1000 - 4


def test_the_table_and_csv_formats_show_the_running_balance(brand, capsys):
    assert main(["audit", "credits", "--brand", brand["id"]]) == 0
    table = capsys.readouterr()
    assert "hash chain of" in table.out and "intact" in table.out and "clean" in table.err
    assert main(["audit", "credits", "--brand", brand["id"], "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("position,occurred_at,kind,amount,balance_after")
    kinds = [line.split(",")[2] for line in lines[1:]]
    assert kinds[:2] == ["grant", "reservation"] and kinds.count("send") == 4
    assert set(kinds[2:]) <= {"send", "consumed"}  # settlement may consume in one batch or more


def test_an_event_row_edited_with_sql_is_detected_and_named(brand, capsys):
    with psycopg.connect(brand["url"]) as conn:
        [position] = edit_states(
            conn, "topic LIKE %s", ["%StepSent"], b'"credits":1', b'"credits":0', first=True
        )
    assert main(["audit", "credits", "--brand", brand["id"]]) == 1
    err = capsys.readouterr().err
    assert "tampered history" in err
    assert f"log position {position}" in err and "changed after it was stored" in err


def test_a_deleted_event_row_is_detected(brand, capsys):
    with psycopg.connect(brand["url"]) as conn:
        conn.execute(
            """DELETE FROM campaigns_events WHERE notification_id = (
                 SELECT max(notification_id) FROM campaigns_events WHERE topic LIKE '%CreditsConsumed')"""
        )
    assert main(["audit", "credits", "--brand", brand["id"]]) == 1
    assert "(a deleted row): the event was deleted from the store" in capsys.readouterr().err


def test_an_unknown_brand_is_a_clear_error(brand, capsys):
    assert main(["audit", "credits", "--brand", "00000000-0000-0000-0000-000000000001"]) == 2
    assert "no credit ledger for brand" in capsys.readouterr().err
