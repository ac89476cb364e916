"""A revoked key stops working on every API process within a second.

`campaign-service serve` and a `campaign-service api` process, or two `api` processes, as users
run them, on loopback ports against the same PostgreSQL; the brand and its keys are made with the
command line. A key used on both (so both remember it) is revoked through one of them, and the
other answers 401 within a second; a key revoked with `brand keys revoke` stops on both the same way.
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
from cryptography.fernet import Fernet

from runtime.embedded_postgres import free_port

CLI = [sys.executable, "-m", "runtime.cli"]
WITHIN = 1.0  # seconds


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    return {
        **env,
        "DATABASE_URL": database_url,
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "UNSUBSCRIBE_SECRET": "e2e-unsubscribe-secret",
        "PYTHONUNBUFFERED": "1",
    }


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@contextmanager
def api_process(env: dict[str, str], cwd: Path, role: str = "api") -> Iterator[httpx.Client]:
    """`campaign-service ROLE` (`api` or `serve`) on a free loopback port, stopped on leaving."""
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [*CLI, role, "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "PYTHONPATH": str(root), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, line = time.monotonic() + 90, ""
        while "ready at" not in line:
            assert time.monotonic() < deadline and process.poll() is None, f"api did not start: {line}"
            line = process.stdout.readline() if process.stdout else ""
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield http
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _seconds_until_refused(http: httpx.Client, key: str, limit: float = 5.0) -> float:
    started = time.monotonic()
    while http.get("/v1/credits", headers=_bearer(key)).status_code != 401:
        assert time.monotonic() - started < limit, "the revoked key still works"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.parametrize("first_role", ["api", "serve"])
def test_a_key_revoked_through_one_api_process_is_refused_by_another_within_a_second(
    database_url, tmp_path, first_role
):
    env = _env(database_url)
    brand = json.loads(_cli(env, tmp_path, "brand", "create", "Acme", "--plan", "basic").stdout)
    made = _cli(env, tmp_path, "brand", "keys", "create", brand["brand_id"], "--name", "doomed")
    assert made.returncode == 0, made.stderr
    doomed = json.loads(made.stdout)
    assert {"id", "api_key"} <= doomed.keys()

    with api_process(env, tmp_path, first_role) as first, api_process(env, tmp_path) as second:
        for http in (first, second):  # each process finds the key and remembers it
            for _ in range(3):
                assert http.get("/v1/credits", headers=_bearer(doomed["api_key"])).status_code == 200

        revoked = first.delete(f"/v1/api-keys/{doomed['id']}", headers=_bearer(brand["api_key"]))
        assert revoked.status_code == 204

        assert _seconds_until_refused(second, doomed["api_key"]) < WITHIN
        assert first.get("/v1/credits", headers=_bearer(doomed["api_key"])).status_code == 401
        for http in (first, second):
            assert http.get("/v1/credits", headers=_bearer(brand["api_key"])).status_code == 200


def test_a_key_revoked_on_the_command_line_is_refused_by_serve_and_an_api_process_within_a_second(
    database_url, tmp_path
):
    env = _env(database_url)
    brand = json.loads(_cli(env, tmp_path, "brand", "create", "Acme", "--plan", "basic").stdout)
    doomed = json.loads(_cli(env, tmp_path, "brand", "keys", "create", brand["brand_id"]).stdout)

    with api_process(env, tmp_path, "serve") as first, api_process(env, tmp_path) as second:
        for http in (first, second):
            assert http.get("/v1/credits", headers=_bearer(doomed["api_key"])).status_code == 200

        done = _cli(env, tmp_path, "brand", "keys", "revoke", brand["brand_id"], doomed["id"])
        assert done.returncode == 0, done.stderr

        assert _seconds_until_refused(first, doomed["api_key"]) < WITHIN
        assert _seconds_until_refused(second, doomed["api_key"]) < WITHIN


def test_the_key_commands_list_without_secrets_and_refuse_the_last_key(database_url, tmp_path):
    env = _env(database_url)
    brand = json.loads(_cli(env, tmp_path, "brand", "create", "Acme", "--plan", "basic").stdout)
    extra = json.loads(
        _cli(env, tmp_path, "brand", "keys", "create", brand["brand_id"], "--name", "ci").stdout
    )

    listed = _cli(env, tmp_path, "brand", "keys", "list", brand["brand_id"])
    assert listed.returncode == 0, listed.stderr
    keys = json.loads(listed.stdout)
    assert [key["name"] for key in keys] == ["default", "ci"]
    assert brand["api_key"] not in listed.stdout and extra["api_key"] not in listed.stdout

    assert _cli(env, tmp_path, "brand", "keys", "revoke", brand["brand_id"], keys[0]["id"]).returncode == 0
    last = _cli(env, tmp_path, "brand", "keys", "revoke", brand["brand_id"], extra["id"])
    assert last.returncode == 1 and "last" in last.stderr
    unknown = _cli(env, tmp_path, "brand", "keys", "list", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr, unknown.stderr
