"""The plain-table pool, and the event store's, come through a PostgreSQL restart without failing a
single call.

Every pooled connection dies with the server; without a check on checkout each of them would fail
one request (an API call answering 500) before the pool replaced it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger, Plan
from runtime.embedded_postgres import EmbeddedPostgres
from storage.database import Database, event_store_env


def test_no_call_fails_after_the_database_restarts(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    db = Database(server.start(), max_size=4)
    try:
        with ThreadPoolExecutor(4) as calls:  # four connections in the pool, all soon dead
            list(calls.map(lambda _: db.fetch_one("SELECT pg_sleep(0.2)"), range(4)))
        server.stop()
        server.start()
        with ThreadPoolExecutor(4) as calls:
            answers = list(calls.map(lambda n: db.fetch_one("SELECT %s::int AS n", (n,)), range(8)))
        assert [a["n"] for a in answers] == list(range(8))
    finally:
        db.close()
        server.stop()


def test_the_event_store_reads_on_after_the_database_restarts(tmp_path: Path):
    """Found by the soak (seed 1): the event store's own pool handed each dead connection out once
    more after a restart, so a send worker failed batch after batch, each followed by a longer
    back-off, and sent nothing for minutes."""
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    store = CampaignApplication(env=event_store_env(server.start(), pool_size=4))
    try:
        ledger = CreditLedger.open(uuid4(), Plan.BASIC, datetime.now(UTC))
        store.save(ledger)
        with ThreadPoolExecutor(4) as reads:  # four connections in the pool, all soon dead
            list(reads.map(lambda _: store.get_many([ledger.id]), range(4)))
        server.stop()
        server.start()
        with ThreadPoolExecutor(4) as reads:
            found = list(reads.map(lambda _: store.get_many([ledger.id]), range(8)))
        assert all(set(loaded) == {ledger.id} for loaded in found)
    finally:
        store.close()
        server.stop()
