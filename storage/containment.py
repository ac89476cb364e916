"""Telling an item's fault from trouble that is not, and applying a batch so its poison is set aside.

Trouble that is not the item's fault (a lost connection, a lock timeout, a version conflict, a
broker away) is `transient`: it is never counted against an item, the follower just waits and
tries again. `contain` applies a log follower's batch, and if it fails for an item's fault, applies
the items one at a time, retrying the failing one briefly and handing it to `park`
(storage/parked.py keeps it) so the follower goes on past it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import psycopg
import psycopg_pool
from eventsourcing import persistence

log = logging.getLogger(__name__)

T = TypeVar("T")

# A log follower retries in place (it cannot move past an item without deciding its fate), so its
# pauses are short; a periodic job retries an item on later passes, with a longer backoff.
IN_PLACE_TRIES = 3
IN_PLACE_PAUSES = (0.1, 0.4)
PERIODIC_TRIES = 5
ERROR_CHARS = 2000
LONGEST_PAUSE = 5.0  # a loop that keeps failing tries again at least this often


def pause_after(failures: int) -> float:
    """How long a loop waits after its n-th failure in a row: 0.5 s, 1 s, 2 s, ... at most 5 s."""
    return min(0.5 * 2.0 ** (failures - 1), LONGEST_PAUSE)


TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # connection lost, lock timeout, deadlock, serialization failure
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    persistence.OperationalError,
    persistence.InterfaceError,
    persistence.IntegrityError,  # a version conflict in the event store: someone wrote first
    persistence.ConnectionUnavailableError,
    ConnectionError,
    TimeoutError,
)


class TransportUnavailable(ConnectionError):
    """The message transport did not take what was published (broker away): try the batch again."""


def transient(error: BaseException) -> bool:
    """Not the item's fault: the follower waits and tries again without counting an attempt."""
    return isinstance(error, TRANSIENT)


def describe(error: BaseException) -> str:
    """One line for the operator: the error's class and message, cut short."""
    text = f"{type(error).__name__}: {error}".replace("\x00", "\\0")
    return " ".join(text.split())[:ERROR_CHARS]


def contain(
    items: Sequence[T],
    apply: Callable[[Sequence[T]], None],
    park: Callable[[T, BaseException, int], None],
    *,
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """Apply a batch; if it fails for an item's fault, apply one item at a time and park the poison.

    `apply` must be atomic for what it is given (a savepoint, or work with no side effect until it
    returns), so a failed try leaves nothing behind. Transient errors propagate untouched.
    """
    try:
        apply(items)
        return
    except Exception as error:
        if transient(error):
            raise
        if len(items) > 1:
            log.warning(
                "a batch of %d failed (%s); applying its items one by one", len(items), describe(error)
            )
    for item in items:
        for attempt in range(1, IN_PLACE_TRIES + 1):
            try:
                apply([item])
                break
            except Exception as error:
                if transient(error):
                    raise
                if attempt == IN_PLACE_TRIES:
                    park(item, error, attempt)
                else:
                    pause(IN_PLACE_PAUSES[min(attempt, len(IN_PLACE_PAUSES)) - 1])
