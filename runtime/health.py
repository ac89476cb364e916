"""The health of a running process, as /readyz and /metrics show it: whether it is ready (the
database answers, the transport is reachable, every background task is alive and none has given
up) and the Prometheus registry of its counts and the database's gauges (runtime/metrics.py). Every
check must answer while PostgreSQL or Kafka is away: each answers within a couple of seconds instead
of a pool's 30 s wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from prometheus_client import CollectorRegistry

from consumers.transport import Transport
from runtime.metrics import registry_for
from runtime.supervisor import Supervisor
from storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """What /readyz and /metrics ask of one process. `head`: the event store's last notification id."""

    db: Database
    transport: Transport
    supervisor: Supervisor
    head: Callable[[], int]

    def readiness(self) -> dict[str, bool]:
        return readiness_checks(self.db, self.transport, background_alive=self.supervisor.alive())

    @cached_property
    def metrics_registry(self) -> CollectorRegistry:
        """What /metrics shows: this process's counts and the database's figures."""
        return registry_for(self.db, self.head)


def readiness_checks(db: Database, transport: Transport, background_alive: bool) -> dict[str, bool]:
    """database: a connection answers within 2 s; transport: Kafka (when used) accepts connections;
    background: every role's thread and child process is alive and none has given up."""
    checks = {"database": False, "transport": transport.reachable(), "background": background_alive}
    try:
        with db.pool.connection(timeout=2) as conn:
            checks["database"] = conn.execute("SELECT 1").fetchone() is not None
    except Exception as failure:
        log.warning("readiness: database unreachable: %s", failure)
    return checks
