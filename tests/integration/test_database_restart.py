"""The plain-table pool comes through a PostgreSQL restart without failing a single call.

Every pooled connection dies with the server; without a check on checkout each of them would fail
one request (an API call answering 500) before the pool replaced it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runtime.embedded_postgres import EmbeddedPostgres
from storage.database import Database


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
