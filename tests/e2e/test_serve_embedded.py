"""The embedded default as a new user runs it: `campaign-service serve`, then the CLI and HTTP.

No DATABASE_URL and no Kafka: serve starts the embedded PostgreSQL under its data dir, the
in-process transport and the sandbox providers; a SIGTERM stops it all, the database included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from runtime.embedded_postgres import free_port
from tests.support import contacts, eventually

CLI = [sys.executable, "-m", "runtime.cli"]


def _embedded_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_serve_runs_a_campaign_on_the_embedded_default_and_stops_cleanly(tmp_path: Path):
    data_dir, port = tmp_path / "data", free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_embedded_env(),
    )
    try:
        deadline = time.monotonic() + 90
        line, said = "", []  # all that serve said, for the failure message
        while "ready at" not in line:
            waiting = time.monotonic() < deadline and server.poll() is None
            assert waiting, "serve did not start:\n" + "".join(said)
            line = server.stdout.readline()
            said.append(line)
        assert f"http://127.0.0.1:{port}" in line
        # the rest of its output (the access log among it) is read and dropped: a full pipe would stall serve
        threading.Thread(target=server.stdout.read, daemon=True).start()

        created = subprocess.run(
            [*CLI, "brand", "create", "Acme", "--plan", "standard", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            env=_embedded_env(),
            timeout=60,
            check=True,
        )
        brand = json.loads(created.stdout)
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {brand['api_key']}"}
        )

        # Voicemails at any hour (quiet hours are 08:00-21:00 by default): the test runs at any time.
        anytime = {"allowed_from": "00:00", "allowed_until": "24:00"}
        assert http.put("/v1/messaging-settings", json=anytime).status_code == 200
        group = http.post("/v1/lead-groups", json={"name": "leads"}).json()
        http.post(f"/v1/lead-groups/{group['id']}/contacts", json={"contacts": contacts(4)})
        http.post(
            "/v1/sender-accounts", json={"channel": "voice", "provider": "sandbox", "address": "+14155550000"}
        )
        steps = [{"type": "VOICEMAIL", "group": 0, "audio_url": "https://brand.example/hello.mp3"}]
        campaign = http.post(
            "/v1/campaign/", json={"name": "drop", "lead_group_ids": [group["id"]], "steps": steps}
        )
        assert campaign.status_code == 201, campaign.text
        campaign_id = campaign.json()["id"]
        launched = http.post(f"/v1/campaign/{campaign_id}/launch")
        assert launched.json() == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": 4}

        detail = eventually(
            lambda: (d := http.get(f"/v1/campaign/{campaign_id}").json())["credits"]["consumed"] == 4 and d
        )
        assert detail["credits"] == {"reserved": 4, "consumed": 4, "released": 0, "outstanding": 0}
        outbox = http.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}).json()["items"]
        assert sorted(item["to"] for item in outbox) == [f"+1415555{i:04d}" for i in range(4)]
        assert {item["audio_url"] for item in outbox} == {"https://brand.example/hello.mp3"}
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
