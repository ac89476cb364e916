"""What every scenario runs on: one embedded PostgreSQL for the whole run (each measurement gets a
fresh database on it), a Kafka broker from scripts/kafka.sh started on free loopback ports when a
scenario first asks for one, and a scratch folder; all of it stopped and removed when the run ends,
also on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from itertools import count
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

from runtime.embedded_postgres import EmbeddedPostgres, free_ports

ROOT = Path(__file__).resolve().parents[2]


class NotMeasured(Exception):
    """A figure the suite could not take; its message says why, and the table shows it."""


class Infrastructure:
    """The shared servers of one run; use it as a context manager so they stop with the run."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
        self.postgres = EmbeddedPostgres(self.folder / "pg", durable=True)
        self._admin_url: str | None = None
        self._kafka: str | None = None
        self._kafka_ports: tuple[int, int] | None = None  # set before the broker starts, to stop it
        self._kafka_failure: str | None = None
        self._databases = count(1)

    def __enter__(self) -> Infrastructure:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def cores(self) -> int:
        return os.cpu_count() or 1

    def fresh_database(self, copy_of: str | None = None) -> str:
        """The URL of a new database on the run's one PostgreSQL server: empty, or a file copy of
        the database at `copy_of` (a URL this returned; nothing may be connected to it)."""
        if self._admin_url is None:
            self.postgres.start()
            self._admin_url = self.postgres.url.rsplit("/", 1)[0] + "/postgres"
        name = f"bench_{next(self._databases)}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if copy_of is not None:
            template = sql.Identifier(copy_of.rsplit("/", 1)[1])
            create = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(create, template)
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(create)
        return self._admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        """Frees the disk a finished measurement used (its processes must have stopped)."""
        if self._admin_url is None:
            return
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def kafka(self) -> str:
        """The bootstrap address of the run's broker, started on first use; NotMeasured if it cannot."""
        if self._kafka is not None:
            return self._kafka
        if self._kafka_failure is not None:
            raise NotMeasured(self._kafka_failure)
        port, controller = free_ports(2)
        self._kafka_ports = (port, controller)  # an interrupted start still leaves a broker to stop
        done = subprocess.run(
            [str(ROOT / "scripts" / "kafka.sh"), "start"],
            env=self._kafka_env(port, controller),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        line = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
        if not line or not line[0].startswith("KAFKA_BOOTSTRAP_SERVERS="):
            tail = " ".join(done.stderr.strip().splitlines()[-2:])
            self._kafka_failure = f"the Kafka broker did not start ({tail or done.returncode})"
            raise NotMeasured(self._kafka_failure)
        self._kafka = line[0].split("=", 1)[1]
        return self._kafka

    def _kafka_env(self, port: int, controller: int) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_STATE_DIR": str(self.folder / "kafka"),
            "PYTHON": sys.executable,
        }

    def close(self) -> None:
        if self._kafka_ports is not None:  # `stop` is a no-op when no broker runs
            subprocess.run(
                [str(ROOT / "scripts" / "kafka.sh"), "stop"],
                env=self._kafka_env(*self._kafka_ports),
                capture_output=True,
                timeout=60,
                check=False,
            )
            self._kafka = self._kafka_ports = None
        with contextlib.suppress(Exception):
            self.postgres.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
