"""Shared fixtures: a real PostgreSQL (a fresh database per test) and, where marked, a real Kafka.

`scripts/test.sh` starts both and exports DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS. Run alone,
pytest starts an embedded PostgreSQL itself; Kafka tests then skip, unless REQUIRE_KAFKA=1 (set by
the test script and CI), which turns a missing broker into a failure. `database_url` is a copy of
a template database that has every migration applied (made once per server and per set of
migration files, shared by xdist workers and mutation phases): a copy costs a tenth of a second
where migrating an empty database cost half a second. `empty_database_url` is an empty one, for
the tests of migrating itself.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings

from provider_fakes.twilio import FakeTwilio
from runtime.embedded_postgres import EmbeddedPostgres
from storage.schema import MIGRATIONS, upgrade

# No time limit per example (Hypothesis' default is 200 ms): on a shared two-core CI runner an
# example is now and then slower for reasons of its own (a first import, a busy neighbour), and the
# test failed having found nothing wrong. No property here is about speed; pytest-timeout ends hangs.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pg")), durable=False)
    yield server.start()
    server.stop()


# Who builds the template holds this advisory lock (a session lock: gone with its process).
TEMPLATE_LOCK = 727276


def url_of(server_url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def template_name() -> str:
    """Named for the migration files' names and contents: a changed migration gets a new template."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"campaigns_template_{digest.hexdigest()[:16]}"


@pytest.fixture(scope="session")
def migrated_template(server_url: str) -> str:
    """The name of a database with every migration applied, made if the server has none yet.

    Built under another name and renamed when complete, under an advisory lock: xdist workers and
    mutation phases on one server wait for the first builder and then find it; a builder that dies
    halfway leaves only the half-built database, which the next one drops. The template is left on
    the server for the next run (a few MB); a new migration file names a new one.
    """
    name = template_name()
    building = f"{name}_building"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{building}"')
                upgrade(url_of(server_url, building))  # closes its connections
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    return name


@pytest.fixture
def database_url(server_url: str, migrated_template: str) -> Iterator[str]:
    """A database of its own for one test, every migration applied, dropped afterwards."""
    yield from own_database(server_url, migrated_template)


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """An empty database of its own, no migration applied (for the tests of migrating), dropped after."""
    yield from own_database(server_url, None)


def own_database(server_url: str, template: str | None) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            clone(conn, name, template)
    yield url_of(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone(conn: psycopg.Connection[tuple[object, ...]], name: str, template: str) -> None:
    """CREATE DATABASE ... TEMPLATE, again for a while if PostgreSQL finds the template in use.

    Nothing stays connected to the template, but a copy being made by another process can be
    counted as a user of it for a moment ("source database is being accessed by other users").
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except psycopg.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.02, 0.2))  # apart, so two retries do not meet again


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if os.environ.get("REQUIRE_KAFKA") == "1":
            pytest.fail("REQUIRE_KAFKA=1 but KAFKA_BOOTSTRAP_SERVERS is not set")
        pytest.skip("no Kafka broker: run scripts/test.sh, or set KAFKA_BOOTSTRAP_SERVERS")
    return servers


KINDS = ("unit", "integration", "api", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test's kind is its folder (`-m unit` runs the fast ones); `kafka` is whoever needs the broker."""
    for item in items:
        kind = next((part for part in item.path.parts if part in KINDS), None)
        if kind:
            item.add_marker(kind)
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker("kafka")


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A loopback Twilio (provider_fakes/twilio.py), stopped when the test ends."""
    fake = FakeTwilio()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
