"""The event store's hash chain (migration 0003): every stored row is linked as it is written, and
events stored before the migration are linked by it, so both verify."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import psycopg
from yoyo import get_backend, read_migrations

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger, Plan
from storage.database import event_store_env
from storage.event_chain import first_break
from storage.schema import MIGRATION_TABLE, MIGRATIONS, upgrade, yoyo_uri
from storage.stored_events import aggregate_rows, events_table

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def save_ledgers(url: str, count: int) -> tuple[CampaignApplication, list]:
    store = CampaignApplication(env=event_store_env(url))
    ledgers = [CreditLedger.open(uuid4(), Plan.BASIC, NOW) for _ in range(count)]
    for ledger in ledgers:
        ledger.grant(5, "top-up", NOW)
    store.save(*ledgers)
    return store, [ledger.id for ledger in ledgers]


def chain_holds(store: CampaignApplication, url: str, ids: list) -> bool:
    with psycopg.connect(url) as conn:
        rows = aggregate_rows(conn, events_table(store), ids)
    return len(rows) == 3 * len(ids) and first_break(rows) is None


def test_every_stored_row_is_linked_as_it_is_written(database_url):
    upgrade(database_url)
    store, ids = save_ledgers(database_url, 3)
    assert chain_holds(store, database_url, ids)


def test_events_stored_before_the_migration_are_linked_by_it(empty_database_url):
    backend = get_backend(yoyo_uri(empty_database_url), MIGRATION_TABLE)
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS))[:1]))
    finally:
        backend.connection.close()
    store, ids = save_ledgers(empty_database_url, 2)  # the library makes its table: no trigger yet
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('event_chain')").fetchone() == (None,)

    upgrade(empty_database_url)

    assert chain_holds(store, empty_database_url, ids)
    store.save(CreditLedger.open(uuid4(), Plan.BASIC, NOW))  # and the trigger links what comes next
    with psycopg.connect(empty_database_url) as conn:
        linked = conn.execute("SELECT count(*) FROM event_chain").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM campaigns_events").fetchone()[0]
    assert linked == stored == 8


def test_links_hold_across_statements_that_extend_old_aggregates_and_add_new_ones(database_url):
    """One statement links its rows together (migration 0008): an aggregate's new versions take the
    link stored by an earlier statement, or the one computed just before them in this one."""
    upgrade(database_url)
    store = CampaignApplication(env=event_store_env(database_url))
    ledgers = [CreditLedger.open(uuid4(), Plan.BASIC, NOW) for _ in range(4)]
    store.save(*ledgers)
    for round_ in range(1, 4):  # each round: some ledgers get 1..3 more events, one ledger is new
        for ledger in ledgers[round_ - 1 :]:
            for _ in range(round_):
                ledger.grant(1, "top-up", NOW)
        ledgers.append(CreditLedger.open(uuid4(), Plan.BASIC, NOW))
        ledgers[-1].grant(2, "welcome", NOW)
        store.save(*ledgers)
    with psycopg.connect(database_url) as conn:
        rows = aggregate_rows(conn, events_table(store), [ledger.id for ledger in ledgers])
        stored = conn.execute("SELECT count(*) FROM campaigns_events").fetchone()[0]
    assert len(rows) == stored == sum(ledger.version for ledger in ledgers)
    assert first_break(rows) is None


def test_a_row_written_with_no_topic_or_state_is_checked_as_the_trigger_linked_it(database_url):
    """The columns allow NULL, and the trigger links NULL as empty: the audit reads it the same way,
    so only a row changed after it was stored is a break."""
    upgrade(database_url)
    store, [ledger] = save_ledgers(database_url, 1)
    bare = uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO campaigns_events (originator_id, originator_version, topic, state) VALUES "
            "(%s, 1, NULL, %s), (%s, 2, %s, NULL)",
            (bare, b"{}", bare, "domain.credit_ledger:CreditLedger.CreditsGranted"),
        )
        rows = aggregate_rows(conn, events_table(store), [ledger, bare])
    assert len(rows) == 5
    assert first_break(rows) is None
