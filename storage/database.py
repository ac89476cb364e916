"""A psycopg connection pool for plain tables, and the conninfo shared with the event store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


class Database:
    """Plain-SQL access to the service's PostgreSQL database (not the event store's pool)."""

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            # connect_timeout: a database that accepts but never answers must not hang a role forever
            kwargs={"row_factory": dict_row, "autocommit": False, "connect_timeout": 10},
            # After a database restart every pooled connection is dead and would fail one request
            # each; checking on checkout (~40 us on loopback) replaces them first. The event store's
            # pool is checked the same way (event_store_env): the batch reads of commands/application.py
            # go past the recorder's own retry.
            check=ConnectionPool.check_connection,
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        # The pool's connections already make dict rows; saying so here lets the type checker know.
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            yield cur

    @contextmanager
    def _one_statement(self) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        """A cursor for one statement, which PostgreSQL runs as a transaction of its own: the same
        atomicity and snapshot as inside BEGIN and COMMIT, without their two round trips."""
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                with conn.cursor(row_factory=dict_row) as cur:
                    yield cur
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def fetch_all(self, sql: Any, params: Any = None) -> list[dict[str, Any]]:
        """The rows of one statement (a query, or a change with RETURNING)."""
        with self._one_statement() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def fetch_one(self, sql: Any, params: Any = None) -> dict[str, Any] | None:
        """The first row of one statement, or None."""
        with self._one_statement() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def execute(self, sql: Any, params: Any = None) -> int:
        with self.transaction() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def close(self) -> None:
        self.pool.close()


def event_store_env(url: str, *, lock_timeout_s: int = 5, pool_size: int = 5) -> dict[str, str]:
    """The eventsourcing POSTGRES_* settings that point the event store at the same database."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "storage.event_recorder:CampaignEventRecorder",
        "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout_s),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # Checked on checkout as the plain pool's are: after a PostgreSQL restart each dead pooled
        # connection would otherwise fail one more batch, and a send worker backing off longer after
        # each sent nothing for minutes (found by the soak, decision record 25).
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "y",
    }
