"""Part of the send use case: at most one delivery of a step talks to the provider at a time.

A redelivered dispatch (a Kafka rebalance, a second worker) can arrive while the first delivery
is still waiting for the provider; asking the provider "did you send it?" then answers no, and
a second send would follow. So a delivery holds a PostgreSQL advisory lock per step, keyed by
the step's idempotency key, inside a transaction kept open across its provider calls and until
its outcomes are recorded. A delivery that finds a step's lock held leaves that step to its
holder. A worker that dies loses its connection and with it its locks, so the next delivery
takes over and reconciles with the provider by key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from storage.database import Database

# Seeds the 64-bit hash of a key, keeping these locks apart from any other advisory lock.
LOCK_SEED = 7_274_001


@contextmanager
def step_locks(db: Database, message_keys: list[str]) -> Iterator[set[str]]:
    """Try every key's lock without waiting; yield the keys held, until the block ends."""
    if not message_keys:
        yield set()
        return
    with db.transaction() as cur:
        cur.execute(
            """SELECT key FROM unnest(%s::text[]) AS key
               WHERE pg_try_advisory_xact_lock(hashtextextended(key, %s))""",
            (message_keys, LOCK_SEED),
        )
        yield {row["key"] for row in cur.fetchall()}
