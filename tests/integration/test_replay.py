"""Read models can be rebuilt from zero: `campaign-service replay` gives back the same answers."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import Client, contacts, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hello"},
    # Due a day later, never during the test: without it, every contact has finished once group 0
    # is out and the follow-up processor completes the campaign, which then cannot be paused.
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]


def test_replay_rebuilds_the_campaign_read_model_identically(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550000")
        group = client.lead_group(contacts(20))
        campaign_id = client.campaign(group, STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 20
        )
        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))

        def settled():  # every email sent before the pause or cancelled by it, and every send settled
            detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
            sent = detail["metrics"]["sent"]["email"] + detail["metrics"]["sent"]["sms"]
            stopped = detail["metrics"]["sent"]["email"] + detail["metrics"]["cancelled"] == 20
            return stopped and detail["credits"]["consumed"] == sent and detail

        before = eventually(settled)
        listing = client.ok(client.get("/v1/campaign/"))

    env = {**os.environ, "DATABASE_URL": database_url}
    replay = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "replay"], env=env, capture_output=True, text=True, timeout=120
    )
    assert replay.returncode == 0, replay.stderr
    assert "campaign_summaries: rebuilt through log position" in replay.stderr

    with running_service(database_url, roles=()) as service:
        client.http = Client(service).http
        client.http.headers["Authorization"] = f"Bearer {client.api_key}"
        assert client.ok(client.get(f"/v1/campaign/{campaign_id}")) == before
        assert client.ok(client.get("/v1/campaign/")) == listing
        assert before["status"] == "PAUSED"
        assert before["metrics"]["sent"]["sms"] == 20


def test_replay_of_an_unknown_projection_is_a_clear_error(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    replay = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "replay", "--projection", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 2
    assert "no projection 'nope'" in replay.stderr
    assert "campaign_summaries" in replay.stderr
