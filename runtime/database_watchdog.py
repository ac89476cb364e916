"""Keeps the embedded PostgreSQL alive under `serve`: notices a dead postmaster and starts it again.

Without it, a killed server leaves every role logging connection errors forever. The watchdog starts
the server again on the same data folder and port (so every pool's URL stays good; the pools replace
their broken connections), and if that keeps failing for `give_up_after` seconds it reports why, so
`serve` can exit non-zero with that message instead of running without a database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from runtime.embedded_postgres import EmbeddedPostgres

log = logging.getLogger(__name__)


def watch_embedded_postgres(
    server: EmbeddedPostgres,
    stop: threading.Event,
    give_up: Callable[[str], None],
    give_up_after: float = 120.0,
    interval: float = 1.0,
) -> None:
    """Until `stop`: every `interval` seconds, restart the server if its postmaster is gone."""
    down_since: float | None = None
    while not stop.wait(interval):
        if server.is_running():
            down_since = None
            continue
        if down_since is None:
            down_since = time.monotonic()
            log.error(
                "the embedded PostgreSQL in %s is not running (postmaster gone); restarting it on port %s",
                server.pgdata,
                server.port,
            )
        try:
            server.start()
        except Exception as failure:
            waited = time.monotonic() - down_since
            if waited >= give_up_after:
                give_up(
                    f"the embedded PostgreSQL in {server.pgdata} died and could not be restarted "
                    f"for {waited:.0f} s: {_why(failure)}"
                )
                return
            log.warning("restarting the embedded PostgreSQL failed (%s); trying again", _why(failure))
            continue
        if stop.is_set():
            return  # shutting down: close() stops the server it finds
        log.warning("the embedded PostgreSQL is back on port %s", server.port)
        down_since = None


def _why(failure: Exception) -> str:
    """The telling line of a failed start: a bind failure (its port taken), else the server log's last
    FATAL, else the first line of the error."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()] or [repr(failure)]
    for marker in ("could not bind", "FATAL:"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1][found[-1].index(marker) :].removeprefix("FATAL:").strip()[:300]
    return lines[0][:300]
