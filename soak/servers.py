"""The servers a soak schedule runs on, its own, since the nemesis restarts them: an embedded
PostgreSQL (a fresh database per schedule on it) and a single-node Kafka broker from
scripts/kafka.sh on free loopback ports (a topic prefix per schedule). Both can be stopped and
started again on the same port and state, as an outage ends; both are stopped, and their folders
removed, when the run ends."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql

from runtime.embedded_postgres import EmbeddedPostgres, free_ports

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = ROOT / "scripts" / "kafka.sh"


class Postgres:
    """The soak's own PostgreSQL server, restartable on its port."""

    def __init__(self, folder: Path) -> None:
        self.server = EmbeddedPostgres(folder, durable=False)  # a clean stop loses nothing
        self.server.start()
        self.admin_url = self.server.url.rsplit("/", 1)[0] + "/postgres"

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        self.server.owned = True
        self.server.stop()

    def start(self) -> None:
        self.server.start()

    def running(self) -> bool:
        return self.server.is_running()


class KafkaBroker:
    """The soak's own broker: `start` formats it once, `stop` and `resume` keep topics and offsets."""

    def __init__(self, folder: Path, timeout: float = 180) -> None:
        self.port, controller = free_ports(2)
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_STATE_DIR": str(folder),
            "PYTHON": sys.executable,
        }
        self.timeout = timeout
        self._run("start")
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.up = True

    def _run(self, action: str) -> None:
        done = subprocess.run(
            [str(KAFKA_SCRIPT), action],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"kafka.sh {action} failed: {tail}")

    def stop(self) -> None:
        self._run("stop")
        self.up = False

    def resume(self) -> None:
        self._run("resume")
        self.up = True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run("stop")
