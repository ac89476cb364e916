"""`serve` runs each channel's relay and send worker, and the projector, in processes of their own
(runtime/child_processes.py); a channel's process only while that channel has work.

Run as a user starts it, against the test PostgreSQL with the sandbox provider: at rest only the
projector's process runs; a campaign's emails start the email channel's process (never the texts'
or the voicemails'), each goes once, and the process stops after CHANNEL_IDLE_SECONDS without work,
to start again for the next campaign; a channel's process and the projector's, killed with SIGKILL
in the middle of a campaign, are started again, no message goes twice and the campaign's figures
come out exact; the processes stop with serve, and by themselves when serve is killed; with the dev
clock, whose time lives in serve's memory, every role stays in serve's own process.
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
from pathlib import Path

import httpx
import pytest

from runtime.embedded_postgres import free_port
from tests.support import contacts, eventually, production_settings

CLI = [sys.executable, "-m", "runtime.cli"]
N = 160  # the contacts of the campaign whose processes are killed


def child_processes(parent: int) -> dict[str, int]:
    """The live children of `parent` that run a channel (by channel) or the projector."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) != parent or state == "Z":
            continue
        if b"channel" in command:
            found[command[command.index(b"--channel") + 1].decode()] = int(entry.name)
        elif b"projector" in command:
            found["projector"] = int(entry.name)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def serving(
    database_url: str, *flags: str, idle_seconds: float = 300.0
) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(DATABASE_URL=database_url, SANDBOX_DELAY_MS="100", PYTHONUNBUFFERED="1")
    env.update(CHANNEL_IDLE_SECONDS=str(idle_seconds))
    env.update(production_settings(f"http://127.0.0.1:{port}"))
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *flags], env=env, stdout=subprocess.DEVNULL
    )
    created = subprocess.run(
        [*CLI, "brand", "create", "Acme", "--plan", "standard"], env=env, capture_output=True, check=True
    )
    key = json.loads(created.stdout)["api_key"]
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=5, headers={"Authorization": f"Bearer {key}"}
    )

    def answers() -> bool:
        assert server.poll() is None, "serve exited"
        try:
            return http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(answers, timeout=60)
        yield server, http
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def launch(http: httpx.Client, count: int, start: int = 0) -> str:
    account = {"channel": "email", "provider": "sandbox", "address": "s@acme.example", "daily_limit": 500}
    http.post("/v1/sender-accounts", json=account)
    group = http.post("/v1/lead-groups", json={"name": "leads"}).json()
    audience = contacts(count, phones=False, start=start)
    http.post(f"/v1/lead-groups/{group['id']}/contacts", json={"contacts": audience})
    steps = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
    created = http.post(
        "/v1/campaign/", json={"name": "mail", "lead_group_ids": [group["id"]], "steps": steps}
    )
    campaign_id = created.json()["id"]
    assert http.post(f"/v1/campaign/{campaign_id}/launch").status_code == 200
    return campaign_id


def sent_to(http: httpx.Client, campaign_id: str) -> list[str]:
    return [
        item["to"]
        for item in http.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}).json()["items"]
    ]


# Starting serve and its two processes (the projector, then the email channel's for the campaign),
# then each again after the kills, with a bounded wait at each stage (60 s at most for the worst of
# them): about 8 s alone, but over 45 s once in a CI run beside the other xdist worker; a hang still
# ends at 120 s.
@pytest.mark.timeout(120)
def test_killed_child_processes_are_started_again_and_nothing_goes_twice(database_url):
    with serving(database_url) as (server, http):
        eventually(lambda: "projector" in child_processes(server.pid))
        # 8 sends at a time, 100 ms each: about two seconds, so the kill below finds the email
        # channel's process at work (one with no work left is not started again until work comes).
        campaign_id = launch(http, N)

        eventually(lambda: len(sent_to(http, campaign_id)) >= 8, timeout=60)
        first = child_processes(server.pid)
        assert set(first) == {"email", "projector"}  # the texts and voicemails have no work
        os.kill(first["email"], signal.SIGKILL)
        os.kill(first["projector"], signal.SIGKILL)  # in the middle of keeping the figures
        down = eventually(lambda: (r := http.get("/readyz")).status_code == 503 and r.json(), timeout=5)
        assert down["checks"]["background"] is False  # until the processes are back
        again = eventually(
            lambda: (
                (found := child_processes(server.pid)).get("email", first["email"]) != first["email"]
                and found.get("projector", first["projector"]) != first["projector"]
                and found
            )
        )
        assert set(again) == {"email", "projector"}

        done = eventually(
            lambda: (d := http.get(f"/v1/campaign/{campaign_id}").json())["credits"]["consumed"] == N and d,
            timeout=60,
        )
        assert done["credits"] == {"reserved": N, "consumed": N, "released": 0, "outstanding": 0}
        # The restarted projector applied nothing twice and skipped nothing.
        assert (done["metrics"]["enrolled"], done["metrics"]["sent"]["email"]) == (N, N)
        assert eventually(lambda: http.get(f"/v1/campaign/{campaign_id}").json()["status"] == "COMPLETED")
        assert sorted(sent_to(http, campaign_id)) == sorted(c["email"] for c in contacts(N, phones=False))
        assert eventually(lambda: http.get("/readyz").status_code == 200)

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not any(alive(pid) for pid in again.values())


@pytest.mark.timeout(120)
def test_a_channels_process_runs_only_while_the_channel_has_work_and_each_message_goes_once(database_url):
    with serving(database_url, idle_seconds=1.5) as (server, http):
        eventually(lambda: "projector" in child_processes(server.pid))
        assert eventually(lambda: http.get("/readyz").status_code == 200)  # resting channels are healthy
        assert set(child_processes(server.pid)) == {"projector"}

        first = launch(http, 12)
        email = eventually(lambda: child_processes(server.pid).get("email"), timeout=60)
        eventually(lambda: len(sent_to(http, first)) == 12, timeout=60)
        # It stops once it has had no work for the idle period, and serve stays ready.
        eventually(lambda: not alive(email), timeout=30)
        assert set(child_processes(server.pid)) == {"projector"}
        assert http.get("/readyz").status_code == 200

        second = launch(http, 12, start=12)  # new work starts it again
        eventually(lambda: len(sent_to(http, second)) == 12, timeout=60)
        assert child_processes(server.pid).get("email", email) != email
        assert sorted(sent_to(http, first)) == sorted(c["email"] for c in contacts(12, phones=False))
        assert sorted(sent_to(http, second)) == sorted(
            c["email"] for c in contacts(12, phones=False, start=12)
        )
        assert "sms" not in child_processes(server.pid) and "voicemail" not in child_processes(server.pid)


def test_the_child_processes_stop_by_themselves_when_serve_is_killed(database_url):
    with serving(database_url) as (server, http):
        eventually(lambda: "projector" in child_processes(server.pid))
        launch(http, 1)  # so that the email channel's process runs too
        children = eventually(lambda: len(found := child_processes(server.pid)) == 2 and found, timeout=60)
        server.kill()
        server.wait(timeout=10)
        started = time.monotonic()
        eventually(lambda: not any(alive(pid) for pid in children.values()), timeout=10)
    print(f"child processes stopped {time.monotonic() - started:.1f} s after serve was killed")


def test_with_the_dev_clock_every_role_stays_in_serves_process(database_url):
    with serving(database_url, "--dev-clock") as (server, http):
        campaign_id = launch(http, 3)
        eventually(lambda: len(sent_to(http, campaign_id)) == 3)  # sent by serve's own worker
        assert child_processes(server.pid) == {}
