"""docker-compose.yml runs as shipped. No Docker engine runs here, so: the compose file, the
Dockerfile, .dockerignore, .env.example and the lock file are read and checked for what a working
deployment needs; and every role is started as its own process with compose's own environment
(its variable names, the secrets from .env.example's names, real PostgreSQL and Kafka), runs a
campaign to COMPLETED through the API, answers its health check, and exits 0 on SIGTERM with
nothing lost."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
import yaml

from runtime.embedded_postgres import free_port
from tests.e2e.campaign_over_http import documented_families, run_campaign, scrape, value
from tests.support import eventually, production_settings

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "runtime.cli"]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
INFRASTRUCTURE = {"postgres", "kafka", "migrate", "prometheus", "grafana"}
ROLES = {name: service for name, service in SERVICES.items() if name not in INFRASTRUCTURE}
SECRETS = ("POSTGRES_PASSWORD", "CREDENTIALS_KEY", "UNSUBSCRIBE_SECRET", "PUBLIC_BASE_URL")
VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


class Missing(Exception):
    """What `docker compose up` stops with: a ${VAR:?message} whose VAR is unset or empty."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of ${VAR}, ${VAR:-default} and ${VAR:?message}."""

    def one(found: re.Match[str]) -> str:
        name, kind, rest = found.groups()
        given = env.get(name, "")
        if kind == "?" and not given:
            raise Missing(f"{name}: {rest}")
        return given or (rest if kind == "-" else "")

    return VARIABLE.sub(one, text)


def env_example_names() -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    }


def test_the_compose_file_waits_for_healthy_dependencies_and_stops_without_a_secret():
    assert {"api", "projector", "relay", "scheduler", "worker-sms", "worker-voicemail"} <= set(ROLES)
    email_workers = [n for n, s in ROLES.items() if s["command"] == ["worker", "--channel", "email"]]
    assert len(email_workers) == 2  # one consumer group, two members

    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert "kafka-broker-api-versions" in " ".join(SERVICES["kafka"]["healthcheck"]["test"])
    kafka_volumes = [v.split(":")[0] for v in SERVICES["kafka"]["volumes"]]
    assert kafka_volumes and all(v in COMPOSE["volumes"] for v in kafka_volumes)
    assert SERVICES["kafka"]["environment"]["KAFKA_LOG_DIRS"] in SERVICES["kafka"]["volumes"][0]

    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, role in ROLES.items():
        assert role["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "kafka": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
        assert role["healthcheck"]["test"][:3] == ["CMD", "campaign-service", "health"], name
        env = role["environment"]
        for secret in ("CREDENTIALS_KEY", "UNSUBSCRIBE_SECRET", "PUBLIC_BASE_URL"):
            assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), (name, secret)
        assert (
            "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"] and env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        )
        assert env["METRICS_PORT"] and env["LOG_FORMAT"] == "json"
    assert "/readyz" in " ".join(ROLES["api"]["healthcheck"]["test"])

    # `docker compose up` with no .env stops at the first secret, saying what to set
    with pytest.raises(Missing, match=r"POSTGRES_PASSWORD: set POSTGRES_PASSWORD in \.env"):
        interpolate(ROLES["relay"]["environment"]["DATABASE_URL"], {})
    # .env.example names every secret compose asks for, and leaves each empty: a copy left unfilled stops too
    asked = {m.group(1) for m in VARIABLE.finditer(json.dumps(COMPOSE)) if m.group(2) == "?"}
    assert asked == set(SECRETS) and asked <= env_example_names()
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    )
    assert all(example[name] == "" for name in asked)


def test_the_image_is_built_in_two_stages_from_the_lock_file_and_leaves_secrets_out():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    assert re.search(r"pip install .*--require-hashes -r \S*requirements.lock", dockerfile)
    assert re.search(r"^HEALTHCHECK .*campaign-service\", \"health\"", dockerfile, re.M)
    assert re.search(r"^USER ", dockerfile, re.M)

    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignore[0] == "*"  # everything out, then the code back in
    kept = {line[1:] for line in ignore if line.startswith("!")}
    assert not kept & {".venv", ".campaign-data", ".env", ".git", "tests"}
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.M)) - {"--from=build"}
    assert {c.rstrip("/") for c in copied if not c.startswith("--")} <= kept | {"pyproject.toml", "README.md"}

    # the lock pins every dependency of pyproject.toml with hashes, and bootstrap.sh installs it too
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run pip-compile (docs/production.md)"
    assert lock.count("==") <= lock.count("--hash=sha256:")
    assert "requirements.lock" in (ROOT / "scripts" / "bootstrap.sh").read_text()


def compose_environment(role: str, secrets: Mapping[str, str]) -> dict[str, str]:
    """The role's environment as compose hands it over, secrets taken from `secrets` (.env)."""
    return {name: interpolate(str(v), secrets) for name, v in ROLES[role]["environment"].items()}


@contextmanager
def role_process(
    name: str, command: list[str], env: dict[str, str], folder: Path
) -> Iterator[subprocess.Popen[bytes]]:
    log = (folder / f"{name}.log").open("w")
    process = subprocess.Popen([*CLI, *command], env=env, stdout=log, stderr=log, cwd=folder)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.timeout(300)  # nine processes started, a campaign run, each stopped
def test_every_role_runs_a_campaign_with_composes_environment_and_stops_cleanly(
    database_url, kafka_bootstrap, tmp_path
):
    api_port = free_port()
    secrets = {**production_settings(f"http://127.0.0.1:{api_port}"), "POSTGRES_PASSWORD": "unused-here"}
    assert set(secrets) == set(SECRETS)
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    # The compose names, with this machine's database and broker in place of the compose network's,
    # loopback ports of their own, and a topic prefix so that runs on one broker stay apart.
    local = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": f"compose{uuid4().hex[:8]}.",
        "HOST": "127.0.0.1",
    }
    envs = {
        role: {**base, **compose_environment(role, secrets), **local, "METRICS_PORT": str(free_port())}
        for role in ROLES
    }
    migrate_env = {
        **base,
        **{n: interpolate(str(v), secrets) for n, v in SERVICES["migrate"]["environment"].items()},
        **local,
    }
    assert set(migrate_env) >= set(compose_environment("api", secrets))
    migrated = subprocess.run(
        [*CLI, *SERVICES["migrate"]["command"]], env=migrate_env, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr

    with ExitStack() as stack:
        processes = {}
        for role, service in ROLES.items():
            command = [
                ("127.0.0.1" if c == "0.0.0.0" else str(api_port) if c == "8000" else c)
                for c in service["command"]
            ]
            processes[role] = stack.enter_context(role_process(role, command, envs[role], tmp_path))

        def healthy(role: str) -> bool:
            assert processes[role].poll() is None, (tmp_path / f"{role}.log").read_text()[-3000:]
            check = [c.replace("8000", str(api_port)) for c in ROLES[role]["healthcheck"]["test"][2:]]
            return subprocess.run([*CLI, *check], env=envs[role], capture_output=True).returncode == 0

        for role in ROLES:
            eventually(lambda role=role: healthy(role), timeout=90, interval=0.5)

        created = subprocess.run(
            [*CLI, "brand", "create", "Acme", "--plan", "basic"],
            env=envs["api"],
            capture_output=True,
            check=True,
        )
        key = json.loads(created.stdout)["api_key"]
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        detail = run_campaign(http, leads=4, timeout=120)
        assert detail["credits"] == {"reserved": 8, "consumed": 8, "released": 0, "outstanding": 0}

        scraped = {role: f"http://127.0.0.1:{envs[role]['METRICS_PORT']}/metrics" for role in ROLES}
        for role, url in scraped.items():
            families = documented_families(url)
            assert {
                ("campaign_service_follower_lag_events", "gauge"),
                ("campaign_service_parked_items", "gauge"),
                ("campaign_service_credits", "counter"),
            } <= families, role
        workers = [role for role in ROLES if role.startswith("worker-")]

        def sent(channel: str) -> float:
            return sum(
                value(scrape(scraped[r]), "campaign_service_sends_total", channel=channel, outcome="sent")
                for r in workers
            )

        eventually(lambda: sent("email") == 4 and sent("sms") == 4)
        api = scrape(scraped["api"])
        assert (
            value(
                api,
                "campaign_service_http_request_seconds_count",
                route="/v1/campaign/{campaign_id}/launch",
                status="200",
            )
            == 1
        )
        for role in workers:
            assert ("campaign_service_provider_call_seconds", "histogram") in documented_families(
                scraped[role]
            )

        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for role, process in processes.items():
            assert process.wait(timeout=45) == 0, (role, (tmp_path / f"{role}.log").read_text()[-3000:])

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT channel, message_key FROM sandbox_outbox").fetchall()
    assert sorted(rows) == sorted({*rows}) and len(rows) == 8  # each send once, none lost
    for role in ROLES:
        lines = [
            json.loads(line)
            for line in (tmp_path / f"{role}.log").read_text().splitlines()
            if line.startswith("{")
        ]
        assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines), role
