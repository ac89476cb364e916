"""How the running roles are judged and stopped: the readiness checks, and a shutdown in bounded time.

Both must work while PostgreSQL or Kafka is away. Each readiness check answers within a couple of
seconds instead of a pool's 30 s wait, and a shutdown leaves behind (as daemon threads) the roles and
pool closes that hang on a dead server, so a SIGTERM is obeyed within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from consumers.transport import Transport
from storage.database import Database

log = logging.getLogger(__name__)


def readiness_checks(
    db: Database,
    transport: Transport,
    threads: Sequence[threading.Thread],
    gave_up: bool,
    children_alive: bool = True,
) -> dict[str, bool]:
    """database: a connection answers within 2 s; transport: Kafka (when used) accepts connections;
    background: every role's thread and child process is alive and none has given up."""
    checks = {
        "database": False,
        "transport": transport.reachable(),
        "background": all(t.is_alive() for t in threads) and children_alive and not gave_up,
    }
    try:
        with db.pool.connection(timeout=2) as conn:
            checks["database"] = conn.execute("SELECT 1").fetchone() is not None
    except Exception as failure:
        log.warning("readiness: database unreachable: %s", failure)
    return checks


def stop_within(
    threads: Sequence[threading.Thread], close_connections: Callable[[], None], timeout: float
) -> None:
    """Join the (already told to stop) roles for 60% of `timeout`, then close the connections in
    what is left (at least 1 s); whatever still hangs is left behind and named in the log."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - 0.4 * timeout - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        log.warning("roles still busy at shutdown, left behind: %s", ", ".join(stuck))
    closing = threading.Thread(target=close_connections, name="close-connections", daemon=True)
    closing.start()
    closing.join(timeout=max(1.0, deadline - time.monotonic()))
    if closing.is_alive():
        log.warning("connections still closing at shutdown; left behind")
