"""The sandbox outbox and the dev clock exist under `campaign-service serve` and never in the `api` role.

Both commands run as a user starts them, against the test PostgreSQL; the `api` role is started with
every environment switch that could turn the routes on, and still has neither.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from runtime.embedded_postgres import free_port
from tests.support import production_settings

CLI = [sys.executable, "-m", "runtime.cli"]
DEVELOPMENT_PATHS = {"/v1/sandbox/outbox", "/v1/dev/clock", "/v1/dev/clock/advance"}


@contextmanager
def started(command: list[str], database_url: str) -> Iterator[httpx.Client]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(DATABASE_URL=database_url, DEV_CLOCK="1", DEVELOPMENT_ROUTES="1", PYTHONUNBUFFERED="1")
    env.update(production_settings(f"http://127.0.0.1:{port}"))
    process = subprocess.Popen(
        [*CLI, *command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    created = subprocess.run(
        [*CLI, "brand", "create", "Acme", "--plan", "basic"], env=env, capture_output=True, check=True
    )
    key = json.loads(created.stdout)["api_key"]
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=5, headers={"Authorization": f"Bearer {key}"}
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, f"{command} did not answer within 60 s"
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield http
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def documented_paths(http: httpx.Client) -> set[str]:
    return set(http.get("/openapi.json").json()["paths"])


def test_the_api_role_has_no_sandbox_outbox_and_no_dev_clock(database_url):
    with started(["api"], database_url) as http:
        assert not DEVELOPMENT_PATHS & documented_paths(http)
        assert http.get("/v1/sandbox/outbox").status_code == 404
        assert http.get("/v1/dev/clock").status_code == 404
        assert http.post("/v1/dev/clock/advance", json={"seconds": 60}).status_code == 404


def test_serve_has_the_sandbox_outbox_and_with_dev_clock_the_clock(database_url):
    with started(["serve", "--dev-clock"], database_url) as http:
        assert documented_paths(http) >= DEVELOPMENT_PATHS
        assert http.get("/v1/sandbox/outbox").status_code == 200
        assert http.get("/v1/sandbox/outbox", headers={"Authorization": ""}).status_code == 401
        assert http.get("/v1/dev/clock").status_code == 200
