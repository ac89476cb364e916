"""Every way of reading history tells the same story: the executions and events routes, the
campaign `as_of` three moments (read off the service's clock, which is moved two days ahead
meanwhile), the Parquet export read back with DuckDB, and the credit audit.

A campaign of two emails to three contacts, one of whom is refused for good: the first emails go
out (two sent, one failed and its credit released), then the campaign is paused, its follow-ups
fall due while it is paused, and it is archived, which releases what it still held.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

from runtime.cli import main
from tests.integration.test_event_export import duck
from tests.support import Client, eventually, processed_after, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
PEOPLE = [{"email": "ann@example.com"}, {"email": "bob@example.com"}, {"email": "fail-permanent@example.com"}]


def test_routes_time_travel_export_and_audit_agree(database_url, tmp_path, monkeypatch, capsys):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        campaign_id = client.campaign(client.lead_group(PEOPLE), STEPS)
        created = service.clock.now()
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def detail() -> dict:
            return client.ok(client.get(f"/v1/campaign/{campaign_id}"))

        eventually(
            lambda: detail()["credits"] == {"reserved": 6, "consumed": 2, "released": 1, "outstanding": 3}
        )
        sent_moment = service.clock.now()
        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
        with processed_after(service, "follow_ups"):  # the follow-ups fall due while it is paused
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * 86_400}))
        paused_moment = service.clock.now()
        client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
        final = eventually(lambda: (d := detail())["credits"]["outstanding"] == 0 and d)
        archived_moment = service.clock.now()

        # The live read models.
        assert final["status"] == "ARCHIVED"
        assert final["credits"] == {"reserved": 6, "consumed": 2, "released": 4, "outstanding": 0}
        assert (final["metrics"]["sent"]["email"], final["metrics"]["failed"]) == (2, 1)
        executions = client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]
        assert len(executions) == 6
        assert Counter(e["status"] for e in executions if e["sent_at"]) == {"sent": 2}
        [failed] = [e for e in executions if e["status"] == "failed"]
        assert "permanent" in failed["error"] and failed["sent_at"] is None
        assert all(e["provider_message_id"] for e in executions if e["status"] == "sent")
        sent_ids = {e["provider_message_id"] for e in executions if e["status"] == "sent"}

        events = _all_events(client, campaign_id)
        kinds = [e["type"] for e in events]
        assert [k for k in kinds if k.startswith("Campaign")] == [
            "CampaignCreated",
            "CampaignLaunched",
            "CampaignPaused",
            "CampaignArchived",
        ]
        assert (kinds.count("StepSent"), kinds.count("StepFailed")) == (2, 1)
        assert {e["data"]["provider_message_id"] for e in events if e["type"] == "StepSent"} == sent_ids
        assert [e["position"] for e in events] == sorted(e["position"] for e in events)

        # The campaign as it stood, from events alone.
        def as_of(moment: datetime):
            return client.get(f"/v1/campaign/{campaign_id}", params={"as_of": moment.isoformat()})

        assert as_of(created - timedelta(minutes=5)).status_code == 404
        then = {
            name: client.ok(as_of(moment))
            for name, moment in [
                ("sent", sent_moment),
                ("paused", paused_moment),
                ("archived", archived_moment),
            ]
        }
        assert [then[m]["status"] for m in ("sent", "paused", "archived")] == ["ACTIVE", "PAUSED", "ARCHIVED"]
        for moment in then.values():
            assert (moment["metrics"]["sent"]["email"], moment["metrics"]["failed"]) == (2, 1)
        assert then["sent"]["credits"] == {"reserved": 6, "consumed": 2, "released": 1, "outstanding": 3}
        assert then["archived"]["credits"] == final["credits"]

    # The export, read back by a client nobody here wrote.
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "history.parquet"
    assert (
        main(["events", "export", "--brand", str(client.brand_id), "--format", "parquet", "--out", str(out)])
        == 0
    )
    rows = duck(
        f"SELECT position, type, aggregate_id, data FROM '{out}' WHERE campaign_id = '{campaign_id}'"
        " ORDER BY position"
    )
    routed = {e["aggregate_id"] for e in events}  # the campaign's and its enrollments' events
    assert [(r[0], r[1]) for r in rows if r[2] in routed] == [(e["position"], e["type"]) for e in events]
    assert {json.loads(r[3])["provider_message_id"] for r in rows if r[1] == "StepSent"} == sent_ids
    ledger = Counter()  # and the brand ledger's entries for the campaign
    for _, kind, aggregate, data in rows:
        if aggregate not in routed:
            ledger[kind] += json.loads(data)["amount"]
    assert ledger == {"CreditsReserved": 6, "CreditsConsumed": 2, "CreditsReleased": 4}

    # The audit, from raw events.
    capsys.readouterr()
    assert main(["audit", "credits", "--brand", str(client.brand_id), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == [] and report["chain"]["intact"]
    [credits] = [c for c in report["campaigns"] if c["campaign_id"] == campaign_id]
    assert {k: credits[k] for k in ("reserved", "consumed", "released", "outstanding")} == final["credits"]
    sends = [e for e in report["entries"] if e["kind"] == "send" and e["campaign_id"] == campaign_id]
    assert {s["provider_message_id"] for s in sends} == sent_ids
    assert report["balance"] == 1000 - 2


def _all_events(client: Client, campaign_id: str) -> list[dict]:
    """Every page of the events route."""
    found, cursor = [], None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = client.ok(client.get(f"/v1/campaign/{campaign_id}/events", params=params))
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found
