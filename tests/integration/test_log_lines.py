"""Log lines as an operator reads them: with LOG_FORMAT=json one JSON object a line, every line of
a request carrying its id (the caller's X-Request-ID, answered back, or a new one) and the brand;
and, even at DEBUG, neither an API key, nor a sender's credentials, nor a message's body in any
line, the Twilio SDK's own included."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from runtime.embedded_postgres import free_port
from runtime.logs import configure_logging, reset_logging
from tests.integration.twilio_support import service_with_twilio, twilio_brand
from tests.support import Client, contacts, eventually, production_settings

CLI = [sys.executable, "-m", "runtime.cli"]
BODY = "Quarterly offer 7f3c9a: only for you"


def test_every_line_of_one_request_carries_its_request_id_and_brand(database_url, tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(DATABASE_URL=database_url, LOG_FORMAT="json", LOG_LEVEL="DEBUG", PYTHONUNBUFFERED="1")
    env.update(production_settings(f"http://127.0.0.1:{port}"), DATA_DIR=str(tmp_path / "data"))
    created = subprocess.run(
        [*CLI, "brand", "create", "Acme", "--plan", "basic"], env=env, capture_output=True, check=True
    )
    brand = json.loads(created.stdout)
    log_file = tmp_path / "api.log"
    with log_file.open("w") as log:
        api = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)

        def up() -> bool:
            assert api.poll() is None, log_file.read_text()[-3000:]
            try:
                return http.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        eventually(up, timeout=60)
        http.headers["Authorization"] = f"Bearer {brand['api_key']}"
        group = http.post("/v1/lead-groups", json={"name": "leads"}).json()["id"]
        http.post(f"/v1/lead-groups/{group}/contacts", json={"contacts": contacts(1)})
        http.post(
            "/v1/sender-accounts", json={"channel": "email", "provider": "sandbox", "address": "a@b.example"}
        )
        steps = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": BODY}]
        campaign = http.post("/v1/campaign/", json={"name": "q", "lead_group_ids": [group], "steps": steps})
        campaign_id = campaign.json()["id"]
        answer = http.post(f"/v1/campaign/{campaign_id}/launch", headers={"X-Request-ID": "req-3a9f"})
        assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "req-3a9f"
        generated = http.get("/healthz").headers["X-Request-ID"]
        assert len(generated) == 32

        def lines_of_the_request() -> list[dict]:
            lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
            return [line for line in lines if line.get("request_id") == "req-3a9f"]

        ours = eventually(
            lambda: (found := lines_of_the_request()) and found[-1]["logger"] == "uvicorn.access" and found
        )
    finally:
        api.send_signal(signal.SIGTERM)
        assert api.wait(timeout=30) == 0

    assert len(ours) >= 3, ours
    assert all({"time", "level", "logger", "message"} <= set(line) for line in ours)
    access = ours[-1]
    assert (access["method"], access["path"], access["status"]) == (
        "POST",
        f"/v1/campaign/{campaign_id}/launch",
        200,
    )
    assert any(line["message"] == "campaign launched: 1 credits reserved" for line in ours)
    assert all(line["brand_id"] == brand["brand_id"] for line in ours[1:])  # decided by the gate
    assert all(line["campaign_id"] == campaign_id for line in ours[1:])
    everything = log_file.read_text()
    assert all(json.loads(line) for line in everything.splitlines() if line.strip())  # each line JSON
    assert brand["api_key"] not in everything and BODY not in everything
    print("\n".join(json.dumps(line) for line in ours))


def test_at_debug_no_line_shows_an_api_key_a_credential_or_a_message_body(database_url, fake_twilio, capsys):
    pytest_handlers = logging.getLogger().handlers[:]  # pytest's own: set aside, so that ours is installed
    for handler in pytest_handlers:
        logging.getLogger().removeHandler(handler)
    configure_logging("DEBUG", "json")
    try:
        with service_with_twilio(database_url, fake_twilio) as service:
            brand = twilio_brand(service, fake_twilio)
            client: Client = brand.client
            client.sender("email", "sales@brand.example")
            steps = [
                {"type": "EMAIL", "group": 0, "subject": "Hello", "body": BODY},
                {"type": "SMS", "group": 0, "body": BODY},
            ]
            campaign_id = client.campaign(client.lead_group(contacts(2)), steps)
            client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
            eventually(lambda: len(fake_twilio.messages) == 2 and len(client.outbox(campaign_id)) == 2)
    finally:
        logs = capsys.readouterr().err
        reset_logging()
        for handler in pytest_handlers:
            logging.getLogger().addHandler(handler)

    assert "twilio POST" in logs and "email batch" in logs  # the sends were logged, at DEBUG
    for secret in (client.api_key, brand.account.token, BODY, "7f3c9a"):
        assert secret not in logs
