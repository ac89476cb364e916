"""`serve` outlives its embedded PostgreSQL dying, and stops promptly while the database is away.

A kill -9 of the postmaster is noticed by serve's watchdog, which starts the server again on the
same folder and port: a campaign launched afterwards completes. When the server cannot come back
(its port taken), /readyz says so, a SIGTERM still stops serve within 10 s, and if nobody stops it
serve gives up after EMBEDDED_RESTART_TIMEOUT and exits non-zero saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from runtime.embedded_postgres import free_port
from tests.support import contacts, eventually

CLI = [sys.executable, "-m", "runtime.cli"]


def embedded_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    return {**env, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING", **extra}


@contextmanager
def serving(data_dir: Path, log: Path, **env: str) -> Iterator[tuple[subprocess.Popen, httpx.Client]]:
    port = free_port()
    with log.open("w") as output:  # a file, not a pipe: an outage's log lines must not fill a pipe
        server = subprocess.Popen(
            [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=embedded_env(**env),
        )
    try:
        eventually(lambda: "ready at" in log.read_text() or server.poll() is not None, timeout=90)
        assert server.poll() is None, log.read_text()
        created = subprocess.run(
            [*CLI, "brand", "create", "Acme", "--plan", "standard", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            env=embedded_env(),
            timeout=60,
            check=True,
        )
        key = json.loads(created.stdout)["api_key"]
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        # Voicemails at any hour: this test is about outages, not about the hour it runs at.
        anytime = {"allowed_from": "00:00", "allowed_until": "24:00"}
        assert http.put("/v1/messaging-settings", json=anytime).status_code == 200
        yield server, http
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def postmaster(data_dir: Path) -> tuple[int, int]:
    """The live postmaster's pid and port, from its pid file."""
    lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), int(lines[3])


def run_a_campaign(http: httpx.Client, count: int, start: int = 0) -> dict:
    group = http.post("/v1/lead-groups", json={"name": "leads"}).json()["id"]
    http.post(f"/v1/lead-groups/{group}/contacts", json={"contacts": contacts(count, start=start)})
    steps = [{"type": "VOICEMAIL", "group": 0, "audio_url": "https://brand.example/hello.mp3"}]
    body = {"name": "drop", "lead_group_ids": [group], "steps": steps}
    campaign_id = http.post("/v1/campaign/", json=body).json()["id"]
    assert http.post(f"/v1/campaign/{campaign_id}/launch").status_code == 200
    # Right after the database came back the projector may still be reconnecting: the campaign's
    # read model (404 until it is written) and its credits follow within the minute.
    return eventually(
        lambda: (
            (d := http.get(f"/v1/campaign/{campaign_id}").json()).get("credits", {}).get("consumed") == count
            and d
        ),
        timeout=60,
    )


def kill_postmaster_and_take_its_port(data_dir: Path) -> socket.socket:
    """kill -9 the postmaster, then hold its port so no restart can bind it: a lasting outage (and
    a nasty one: connections are accepted by the kernel and never answered)."""
    _pid, port = postmaster(data_dir)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # its connections linger in TIME_WAIT
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError, ValueError, IndexError):  # gone, or restarted: kill that one
            os.kill(postmaster(data_dir)[0], signal.SIGKILL)
        try:
            blocker.bind(("127.0.0.1", port))
            blocker.listen()  # only a listening socket keeps PostgreSQL's own bind out
            return blocker
        except OSError:
            assert time.monotonic() < deadline, "the killed postmaster's port never came free"
            time.sleep(0.01)


def readiness(http: httpx.Client) -> tuple[int, dict]:
    answer = http.get("/readyz")
    return answer.status_code, answer.json()


def test_serve_restarts_a_killed_embedded_postgres_and_stops_within_10s_while_it_is_down(tmp_path):
    data_dir = tmp_path / "data"
    with serving(data_dir, tmp_path / "serve.log") as (server, http):
        http.post(
            "/v1/sender-accounts", json={"channel": "voice", "provider": "sandbox", "address": "+14155550000"}
        )
        assert run_a_campaign(http, 3)["credits"]["outstanding"] == 0

        pid, port = postmaster(data_dir)
        os.kill(pid, signal.SIGKILL)
        _new_pid, new_port = eventually(
            lambda: (
                (data_dir / "pgdata" / "postmaster.pid").exists()
                and postmaster(data_dir)[0] != pid
                and postmaster(data_dir)
            ),
            timeout=30,
        )
        assert new_port == port  # every pool's URL stays good
        assert run_a_campaign(http, 3, start=3)["credits"] == {
            "reserved": 3,
            "consumed": 3,
            "released": 0,
            "outstanding": 0,
        }
        assert eventually(lambda: readiness(http)[0] == 200, timeout=30)

        blocker = kill_postmaster_and_take_its_port(data_dir)
        try:
            _status, body = eventually(lambda: (r := readiness(http))[0] == 503 and r, timeout=30)
            assert body["checks"]["database"] is False
            time.sleep(2)  # the roles are now failing against the dead database
            asked = time.monotonic()
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0
            stopped_in = time.monotonic() - asked
        finally:
            blocker.close()
    print(f"serve stopped {stopped_in:.1f} s after SIGTERM with its database down")
    assert stopped_in < 10
    assert "is not running (postmaster gone); restarting it" in (tmp_path / "serve.log").read_text()


def test_serve_exits_non_zero_saying_why_when_its_embedded_postgres_cannot_come_back(tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    with serving(data_dir, log, EMBEDDED_RESTART_TIMEOUT="3") as (server, _http):
        blocker = kill_postmaster_and_take_its_port(data_dir)
        try:
            assert server.wait(timeout=30) == 1
        finally:
            blocker.close()
    said = [line for line in log.read_text().splitlines() if line.startswith("campaign-service: ")]
    assert len(said) == 1, log.read_text()
    assert "the embedded PostgreSQL in" in said[0] and "could not be restarted" in said[0]
    assert "Address already in use" in said[0]  # the reason, not just the symptom
