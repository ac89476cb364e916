"""Test databases: each test's own, copied from a template that has every migration applied.

The template is made once per server and per set of migration files (its name holds a hash of
storage/migrations/), under an advisory lock, so xdist workers and mutation phases that share a
server make it once; it stays on the server for the next run. A copy costs a tenth of a second
where migrating an empty database cost half a second. `own_database(server, None)` is an empty
one, for the tests of migrating itself.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg

from storage.schema import MIGRATIONS, upgrade

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


@cache
def migrated_template(server_url: str) -> str:
    """The name of a database with every migration applied, made if the server has none yet.

    Built under another name and renamed when complete, under an advisory lock: other processes
    on the same server wait for the first builder and then find it; a builder that dies halfway
    leaves only the half-built database, which the next one drops. Nothing stays connected to it.
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


@contextmanager
def own_database(server_url: str, template: str | None, prefix: str = "test") -> Iterator[str]:
    """A database of its own (a copy of `template`, or empty), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            clone(conn, name, template)
    try:
        yield url_of(server_url, name)
    finally:
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
