"""The embedded PostgreSQL keeps a quarter of the machine's memory, up to 1 GB, as its buffer pool.

PostgreSQL's default of 128 MB is outgrown by the randomly keyed indexes the sends write into once
the store holds a few hundred thousand events of history, and sends slowed with history (decision
record 33): the server started for `serve` asks for more.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from runtime.embedded_postgres import EmbeddedPostgres


def test_the_embedded_postgres_buffer_pool_holds_a_quarter_of_memory_up_to_a_gigabyte(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "data", durable=False)
    url = server.start()
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT setting::bigint * 8192 / 1048576 FROM pg_settings WHERE name = 'shared_buffers'"
            ).fetchone()
    finally:
        server.stop()
    memory_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    assert row is not None
    assert row[0] == max(128, min(1024, memory_mb // 4))
