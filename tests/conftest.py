"""Shared fixtures: a real PostgreSQL (a fresh database per test) and, where marked, a real Kafka.

`scripts/test.sh` starts both and exports DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS. Run alone,
pytest starts an embedded PostgreSQL itself; Kafka tests then skip, unless REQUIRE_KAFKA=1 (set by
the test script and CI), which turns a missing broker into a failure. `database_url` is a copy of
a template database that has every migration applied (tests/databases.py); `empty_database_url`
is an empty one, for the tests of migrating itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from provider_fakes.twilio import FakeTwilio
from runtime.embedded_postgres import EmbeddedPostgres
from tests import databases

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


@pytest.fixture(scope="session")
def migrated_template(server_url: str) -> str:
    """The name of a database with every migration applied (tests/databases.py), made if need be."""
    return databases.migrated_template(server_url)


@pytest.fixture
def database_url(server_url: str, migrated_template: str) -> Iterator[str]:
    """A database of its own for one test, every migration applied, dropped afterwards."""
    with databases.own_database(server_url, migrated_template) as url:
        yield url


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """An empty database of its own, no migration applied (for the tests of migrating), dropped after."""
    with databases.own_database(server_url, None) as url:
        yield url


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


# mutmut (scripts/mutation.sh) ends a mutant's run after six times its tests' measured time plus
# 5 s, and measures a test by its call alone, not its setup: the console's twenty tests call for
# 3.4 s in all but set up for about a minute (campaigns launched and sent), so on 2026-12-08 every
# console mutant that its first tests did not kill was ended at 50 s and counted as killed, the
# equivalent ones too. While mutmut collects its stats (MUTANT_UNDER_TEST=stats), a test's call is
# reported with its setup's time added, so the limit covers the fixtures a mutant's run starts.
_setup_seconds: dict[str, float] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    if call.when == "setup":
        _setup_seconds[item.nodeid] = call.duration
    elif call.when == "call":
        call.duration += _setup_seconds.pop(item.nodeid, 0.0)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A loopback Twilio (provider_fakes/twilio.py), stopped when the test ends."""
    fake = FakeTwilio()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
