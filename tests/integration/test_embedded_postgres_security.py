"""The embedded PostgreSQL lets no one in without its generated password, old data folders included.

A new folder gets a random superuser password, kept 0600 beside the data, and scram-sha-256 for
every connection; the URL the server hands out carries it. A folder made by an older version with
trust authentication keeps its data and is switched over to the password on its next start.
"""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest

from runtime.embedded_postgres import EmbeddedPostgres


class TrustingOldVersion(EmbeddedPostgres):
    """What earlier versions did: initdb with trust authentication and no password at all."""

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres", "--no-instructions")

    def _require_passwords(self) -> None:
        pass

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/campaigns"


def assert_only_the_password_gets_in(server: EmbeddedPostgres) -> None:
    without_password = f"postgresql://postgres@127.0.0.1:{server.port}/campaigns"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(without_password, connect_timeout=10).close()
    wrong_password = f"postgresql://postgres:guess@127.0.0.1:{server.port}/campaigns"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(wrong_password, connect_timeout=10).close()
    assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
    assert server.password_file.read_text().strip() in server.url
    rules = [line for line in (server.pgdata / "pg_hba.conf").read_text().splitlines() if line[:1] != "#"]
    assert not [rule for rule in rules if "trust" in rule]


def test_a_new_embedded_postgres_refuses_connections_without_its_password(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "data", durable=False)
    url = server.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        assert_only_the_password_gets_in(server)
        assert not list(server.data_dir.glob(".initdb-password-*"))  # the hand-over copy is gone
    finally:
        server.stop()


def test_a_folder_made_with_trust_keeps_its_data_and_is_switched_to_the_password(tmp_path: Path):
    old = TrustingOldVersion(tmp_path / "data", durable=False)
    with psycopg.connect(old.start(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('from the old version')")
    old.stop()
    old.password_file.unlink(missing_ok=True)  # old versions never made one

    server = EmbeddedPostgres(tmp_path / "data", durable=False)
    url = server.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("from the old version",)]
        assert_only_the_password_gets_in(server)
        server.stop()
        with psycopg.connect(server.start()) as conn:  # and again on a later start, same port
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1,)
        assert server.url == url
    finally:
        server.stop()
