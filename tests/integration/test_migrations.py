"""Schema migrations (storage/migrations/, applied by storage/schema.py with yoyo).

An empty database, a database at every earlier migration and a database made by the old
`ensure_schema` code all upgrade to the same schema, keeping their rows; a second upgrade changes
nothing; concurrent upgraders apply each migration once; roles that do not migrate wait and then
fail with a clear message; `db status` and `db upgrade` work from the command line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from runtime.cli import main
from runtime.service import build_service
from runtime.settings import Settings
from storage import schema
from storage.schema import MIGRATION_TABLE, MIGRATIONS, SchemaBehind, migration_ids, upgrade, yoyo_uri
from tests.support import production_settings

ROOT = Path(__file__).resolve().parents[2]
BEFORE_MIGRATIONS = Path(__file__).with_name("fixtures") / "schema_before_migrations.sql"
INITIAL_TABLES = {  # 0001_initial: what the code made before migrations existed
    "brands",
    "lead_groups",
    "contacts",
    "lead_group_members",
    "suppressions",
    "launch_audiences",
    "enrollment_progress",
    "sender_accounts",
    "contact_senders",
    "settlement_position",
    "idempotency_keys",
    "campaign_templates",
    "relay_positions",
    "sandbox_outbox",
    "sandbox_refusals",
    "parked_items",
    "projection_positions",
    "campaign_summaries",
    "due_steps",
    "steps_in_flight",
}
TABLES = INITIAL_TABLES | {"step_executions", "campaign_leads", "credit_ledger_entries"}  # 0002_read_side
# Migration 0003 creates the event store's table (the library's shape) to hang the hash chain on it.
CHAIN_TABLES = {"campaigns_events", "event_chain"}
TABLES |= {"gmail_threads", "gmail_send_attempts"}  # 0004_gmail_threads
TABLES |= {"twilio_sends", "brand_messaging_settings"}  # 0005_twilio
TABLES |= {"gmail_history"}  # 0007_gmail_history
TABLES |= {"settlement_open_attempts"}  # 0010_settlement_open_attempts
TABLES |= {"twilio_webhook_receipts"}  # 0011_twilio_webhook_receipts
TABLES |= {"api_keys"}  # 0014_api_keys
TABLES |= {"console_sessions"}  # 0015_console_sessions
TABLES |= {"deliverability_settings", "deliverability_sends", "deliverability_window_starts"}  # 0017
TABLES |= {"deliverability_guard_position"}  # 0017_deliverability_guard
TABLES |= {"personal_data_keys"}  # 0019_personal_data_keys
TABLES |= {"brand_retention_settings"}  # 0020_message_retention
TABLES |= {"campaign_checkpoints"}  # 0022_campaign_checkpoints
TABLES |= {"campaign_event_positions"}  # 0025_campaign_event_positions
TABLES |= {"deliverability_waiting_windows"}  # 0030_deliverability_waiting_windows
TABLES |= {"step_funnel_counts", "step_funnel_moments"}  # 0031_step_funnels_kept
YOYO_TABLES = {MIGRATION_TABLE, "_yoyo_log", "_yoyo_version", "yoyo_lock"}


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {name for (name,) in rows}


def shape(url: str, *, include_yoyo: bool = False) -> dict[str, Any]:
    """The schema as the catalog describes it: columns (order aside), constraints and indexes."""
    skip = () if include_yoyo else tuple(YOYO_TABLES)
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, is_nullable, column_default,
                      generation_expression
               FROM information_schema.columns
               WHERE table_schema = 'public' AND NOT (table_name = ANY(%s))""",
            (list(skip),),
        ).fetchall()
        constraints = conn.execute(
            """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
               FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
               WHERE n.nspname = 'public' AND NOT (c.conrelid::regclass::text = ANY(%s))""",
            (list(skip),),
        ).fetchall()
        indexes = conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND NOT (tablename = ANY(%s))",
            (list(skip),),
        ).fetchall()
    return {"columns": set(columns), "constraints": set(constraints), "indexes": set(indexes)}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """Every test here starts from an empty database (not the migrated copy tests/conftest.py gives)."""
    return empty_database_url


def apply_first(url: str, count: int) -> None:
    """Bring the database to the first `count` migrations, as an older release would have."""
    backend = get_backend(yoyo_uri(url), MIGRATION_TABLE)
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS))[:count]))
    finally:
        backend.connection.close()


def old_statements(*, first_release: bool) -> list[str]:
    """Today's DDL as `ensure_schema` ran it; without the late ALTERs for the first release."""
    chunks = [c.strip() for c in BEFORE_MIGRATIONS.read_text().split(";\n") if c.strip()]
    statements = []
    for chunk in chunks:
        lines = [line for line in chunk.splitlines() if not line.startswith("-- ") or line == "-- later:"]
        late = lines[0] == "-- later:"
        if late and first_release:
            continue
        statements.append("\n".join(line for line in lines if line != "-- later:"))
    return statements


def fresh_shape(server_url: str) -> dict[str, Any]:
    """The shape an empty database has after an upgrade (in a database of its own, dropped after)."""
    name = f"test_fresh_{uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    try:
        upgrade(url)
        return shape(url)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrading_an_empty_database_creates_every_table(database_url):
    assert upgrade(database_url) == migration_ids()
    assert tables(database_url) == TABLES | CHAIN_TABLES | YOYO_TABLES
    assert schema.pending(database_url) == []


def test_every_table_in_the_migrations_names_one_owner_module_that_exists():
    for path in sorted(MIGRATIONS.glob("*.sql")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            created = re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", line)
            if not created:
                continue
            comments = []
            for above in reversed(lines[:number]):
                if not above.startswith("--"):
                    break
                comments.append(above)
            owners = [c.removeprefix("-- Owner: ").strip() for c in comments if c.startswith("-- Owner: ")]
            assert len(owners) == 1, f"{path.name}: table {created[1]} names {len(owners)} owners"
            assert (ROOT / owners[0]).is_file(), f"{path.name}: {created[1]}'s owner {owners[0]} is missing"


@pytest.mark.parametrize("count", range(len(migration_ids())))
def test_a_database_at_every_earlier_migration_upgrades(database_url, server_url, count):
    apply_first(database_url, count)
    assert schema.pending(database_url) == migration_ids()[count:]

    assert upgrade(database_url) == migration_ids()[count:]

    assert schema.pending(database_url) == []
    assert shape(database_url) == fresh_shape(server_url)


@pytest.mark.parametrize("first_release", [False, True], ids=["today", "first-release"])
def test_a_database_made_before_migrations_upgrades_keeping_its_rows(database_url, server_url, first_release):
    with psycopg.connect(database_url) as conn:
        for statement in old_statements(first_release=first_release):
            conn.execute(statement)
    assert tables(database_url) == INITIAL_TABLES  # no migration log: the old code kept none
    brand, account, now = uuid4(), uuid4(), datetime(2026, 11, 1, tzinfo=UTC)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO brands (id, name, plan, api_key_sha256, created_at) VALUES (%s, 'acme', 'basic', 'h', %s)",
            (brand, now),
        )
        conn.execute(
            """INSERT INTO sender_accounts (id, brand_id, channel, provider, address, daily_limit,
                   limit_today, created_at) VALUES (%s, %s, 'email', 'sandbox', 'a@acme.example', 50, 10, %s)""",
            (account, brand, now),
        )
        conn.execute(
            "INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, '+14155550100', 'stop', %s)",
            (brand, now),
        )
        conn.execute(
            "INSERT INTO enrollment_progress (campaign_id, brand_id) VALUES (%s, %s)", (uuid4(), brand)
        )

    assert upgrade(database_url) == migration_ids()

    assert shape(database_url) == fresh_shape(server_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM brands WHERE id = %s", (brand,)).fetchone() == ("acme",)
        row = conn.execute(
            "SELECT limit_today, sends_today, credentials, last_reset_on FROM sender_accounts WHERE id = %s",
            (account,),
        ).fetchone()
        assert row is not None and row[:3] == (10, 0, None) and row[3] is not None
        assert conn.execute("SELECT channel FROM suppressions").fetchall() == [("phone",)]
        assert conn.execute("SELECT enrolled, done FROM enrollment_progress").fetchall() == [(0, False)]
        keys = conn.execute("SELECT brand_id, name, key_sha256, revoked_at FROM api_keys").fetchall()
        assert keys == [(brand, "default", "h", None)]  # the brand's key carried over (0014)


def test_upgrading_twice_changes_nothing(database_url):
    upgrade(database_url)
    before = shape(database_url, include_yoyo=True)
    log_before = schema.applied(database_url)

    assert upgrade(database_url) == []

    assert shape(database_url, include_yoyo=True) == before
    assert schema.applied(database_url) == log_before


def test_a_start_on_a_current_schema_does_not_wait_for_another_upgraders_lock(database_url):
    """Another process holding the migration lock (a slow `db upgrade` elsewhere) does not hold up a
    start that has nothing to apply; and each start on a current schema costs a read, not yoyo's pass."""
    upgrade(database_url)
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (schema.LOCK_KEY,))
        results: list[list[str]] = []
        thread = threading.Thread(target=lambda: results.append(upgrade(database_url)), daemon=True)
        thread.start()
        thread.join(10)
        assert results == [[]], "upgrade waited for the lock with nothing to apply"


def test_concurrent_upgrades_apply_each_migration_once(database_url):
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(upgrade(database_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(m for applied in results for m in applied) == sorted(migration_ids())
    assert tables(database_url) == TABLES | CHAIN_TABLES | YOYO_TABLES


def test_a_role_that_does_not_migrate_waits_then_names_what_is_missing(database_url, monkeypatch):
    monkeypatch.setattr(schema, "WAIT_SECONDS", 0.3)
    with pytest.raises(SchemaBehind, match=r"pending: 0001_initial.*db upgrade"):
        build_service(Settings(database_url=database_url), schema="wait")
    assert tables(database_url) == set()  # it created nothing

    upgrade(database_url)
    container = build_service(Settings(database_url=database_url), schema="wait")
    container.close()


def test_a_role_started_from_the_command_line_exits_1_saying_what_to_run(database_url, monkeypatch, capsys):
    monkeypatch.setattr(schema, "WAIT_SECONDS", 0.3)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in production_settings().items():
        monkeypatch.setenv(name, value)

    assert main(["relay"]) == 1

    error = capsys.readouterr().err
    assert "pending: 0001_initial" in error and "campaign-service db upgrade" in error, error


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_status_and_db_upgrade_from_the_command_line(database_url):
    before = cli(database_url, "db", "status")
    assert before.returncode == 0, before.stderr
    for migration_id in migration_ids():
        assert re.search(rf"^{migration_id}\s+pending\s+-$", before.stdout, re.M), before.stdout

    upgraded = cli(database_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert [f"applied {m}" for m in migration_ids()] == upgraded.stdout.splitlines()

    after = cli(database_url, "db", "status")
    assert after.returncode == 0, after.stderr
    for migration_id in migration_ids():
        assert re.search(
            rf"^{migration_id}\s+applied\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d$", after.stdout, re.M
        )

    again = cli(database_url, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to apply")
