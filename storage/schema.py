"""The plain tables' schema: numbered SQL migrations in storage/migrations/, applied with yoyo.

`upgrade(url)` applies what is pending and returns the ids it applied; `status(url)` lists every
migration, applied (with when) or pending; `wait_until_current(url)` is for the roles that do not
migrate (worker, relay, projector, scheduler): they wait for `serve`, `api` or `db upgrade` to do
it, and give up with `SchemaBehind` after a while. The event store's tables are the eventsourcing
library's own and are not migrated here. See docs/decisions/0004-schema-migrations.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_TABLE = "_yoyo_migration"  # yoyo's default: where it records what it applied, and when
# One upgrader at a time, across processes: a session-level advisory lock, which PostgreSQL
# releases by itself if the process holding it dies (yoyo's own lock is a row that would stay).
LOCK_KEY = 727275
WAIT_SECONDS = 120.0  # how long a role that does not migrate waits for the schema to be current


class SchemaBehind(RuntimeError):
    """The database lacks migrations this release needs, and this process does not apply them."""


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied_at: datetime | None  # UTC; None while pending
    known: bool = True  # False: applied by a newer release, absent from this one


def migration_ids() -> list[str]:
    """This release's migrations, in the order they apply."""
    return [migration.id for migration in read_migrations(str(MIGRATIONS))]


def yoyo_uri(url: str) -> str:
    """The `postgresql+psycopg` URI yoyo wants, for any libpq URL or conninfo string.

    Every parameter goes in the query string: yoyo hands those to `psycopg.connect` as they are,
    so a socket directory as host, or a database name with odd characters, arrive intact.
    """
    info = {key: str(value) for key, value in psycopg.conninfo.conninfo_to_dict(url).items()}
    return "postgresql+psycopg:///?" + urlencode(info)


def applied(url: str) -> dict[str, datetime]:
    """Applied migration ids and when (UTC), read-only: nothing is created on the way."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MIGRATION_TABLE,)).fetchone()
        if not (row and row[0]):
            return {}
        rows = conn.execute(
            f"SELECT migration_id, applied_at_utc FROM {MIGRATION_TABLE} ORDER BY applied_at_utc"
        ).fetchall()
    return {migration_id: applied_at for migration_id, applied_at in rows}


def status(url: str) -> list[MigrationState]:
    """Every migration of this release, applied or pending, then any the database has and we lack."""
    done = applied(url)
    ids = migration_ids()
    states = [MigrationState(m, done.get(m)) for m in ids]
    states += [MigrationState(m, at, known=False) for m, at in done.items() if m not in ids]
    return states


def pending(url: str) -> list[str]:
    done = applied(url)
    return [m for m in migration_ids() if m not in done]


@contextmanager
def _upgrade_lock(url: str) -> Iterator[None]:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def upgrade(url: str) -> list[str]:
    """Apply the pending migrations in order; return their ids (empty when the schema is current).

    Concurrent callers (several `api` processes starting together) queue on the advisory lock;
    the second finds nothing pending. Each migration runs in its own transaction. A schema that is
    already current is found with one read, without the lock or yoyo's own pass (a fifth of the
    time, and no wait behind another process's upgrade).
    """
    if not pending(url):
        return []
    logging.getLogger("yoyo").setLevel(logging.WARNING)  # a line per SQL statement; ours names each migration
    with _upgrade_lock(url):
        backend = get_backend(yoyo_uri(url), MIGRATION_TABLE)
        try:
            # Every upgrader holds the advisory lock first, so a row in yoyo's lock table now was
            # left by a process that died while migrating: without this, every later start would
            # wait and fail until someone ran `yoyo break-lock`.
            stale = backend.execute(f"SELECT pid FROM {backend.lock_table_quoted}").fetchall()
            if stale:
                log.warning("removing yoyo's lock left by process %s, which is gone", stale[0][0])
                backend.break_lock()
            with backend.lock():
                todo = backend.to_apply(read_migrations(str(MIGRATIONS)))
                backend.apply_migrations(todo)
        finally:
            backend.connection.close()
    ids = [migration.id for migration in todo]
    for migration_id in ids:
        log.info("schema: applied migration %s", migration_id)
    return ids


def wait_until_current(url: str, timeout: float | None = None, poll: float = 2.0) -> None:
    """Return once no migration is pending; SchemaBehind, naming them, after `timeout` seconds
    (default WAIT_SECONDS)."""
    deadline = time.monotonic() + (WAIT_SECONDS if timeout is None else timeout)
    missing = pending(url)
    if missing:
        log.warning("schema: waiting for migrations %s (applied by serve, api or db upgrade)", missing)
    while missing:
        if time.monotonic() >= deadline:
            raise SchemaBehind(
                f"the database schema is behind this release (pending: {', '.join(missing)}); "
                "run `campaign-service db upgrade`, or start `api` or `serve`, which apply them"
            )
        time.sleep(poll)
        missing = pending(url)
