"""Parked items: what a log follower or periodic job could not process, set aside so the rest goes on.

A follower retries a failing item a bounded number of times with backoff (storage/containment.py),
then parks it here (its follower, its log position or row id, its brand, the error, first and last
seen, attempts) and moves past it, so one brand's poison event or row never stalls another brand.
Periodic jobs count an item's failures here across passes (`each_contained`). Operators list parked
items and hand them back after a fix (`campaign-service parked`); /readyz and /metrics count them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from storage.containment import PERIODIC_TRIES, describe, transient
from storage.database import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


def park(
    cur: Any, follower: str, item: str, brand_id: UUID | None, error: BaseException, attempts: int
) -> None:
    """Record the item as parked (inside the caller's transaction, beside its position)."""
    log.error(
        "%s: parked %s (brand %s) after %d attempts: %s", follower, item, brand_id, attempts, describe(error)
    )
    cur.execute(
        """INSERT INTO parked_items (follower, item, brand_id, error, attempts, status)
           VALUES (%s, %s, %s, %s, %s, 'parked')
           ON CONFLICT (follower, item) DO UPDATE SET error = EXCLUDED.error, status = 'parked',
               attempts = parked_items.attempts + EXCLUDED.attempts, last_seen = now(),
               brand_id = COALESCE(parked_items.brand_id, EXCLUDED.brand_id)""",
        (follower, item, brand_id, describe(error), attempts),
    )


def held_back(db: Database, follower: str) -> set[str]:
    """Items a periodic job must skip now: parked ones, and failing ones still in their backoff."""
    return {item for item, held in _known(db, follower).items() if held}


def _known(db: Database, follower: str) -> dict[str, bool]:
    """Every item the follower has on record, and whether it is to be skipped now."""
    rows = db.fetch_all(
        """SELECT item, (status = 'parked' OR (status = 'failing'
               AND last_seen > now() - interval '1 second' * power(2, attempts))) AS held
           FROM parked_items WHERE follower = %s""",
        (follower,),
    )
    return {row["item"]: row["held"] for row in rows}


def record_failure(
    db: Database, follower: str, item: str, brand_id: UUID | None, error: BaseException
) -> bool:
    """Count a periodic job's failed try at an item; park it at the last try. True when parked."""
    row = db.fetch_one(
        """INSERT INTO parked_items (follower, item, brand_id, error, attempts, status)
           VALUES (%(follower)s, %(item)s, %(brand)s, %(error)s, 1, 'failing')
           ON CONFLICT (follower, item) DO UPDATE SET error = EXCLUDED.error, last_seen = now(),
               attempts = parked_items.attempts + 1,
               status = CASE WHEN parked_items.attempts + 1 >= %(tries)s THEN 'parked' ELSE 'failing' END
           RETURNING status, attempts""",
        {
            "follower": follower,
            "item": item,
            "brand": brand_id,
            "error": describe(error),
            "tries": PERIODIC_TRIES,
        },
    )
    parked = row is not None and row["status"] == "parked"
    level = logging.ERROR if parked else logging.WARNING
    log.log(
        level,
        "%s: %s failed (%s)%s",
        follower,
        item,
        describe(error),
        "; parked" if parked else "; will retry",
    )
    return parked


def cleared(db: Database, follower: str, items: Iterable[str]) -> None:
    """Forget items that went through after earlier failures."""
    wanted = list(items)
    if wanted:
        db.execute("DELETE FROM parked_items WHERE follower = %s AND item = ANY(%s)", (follower, wanted))


def each_contained(
    db: Database,
    follower: str,
    items: Iterable[T],
    work: Callable[[T], int],
    *,
    key: Callable[[T], str] = str,
    brand: Callable[[T], UUID | None] = lambda _: None,
) -> int:
    """Run `work` on each item, counting and parking the failures of each on its own."""
    known = _known(db, follower)
    done, recovered = 0, []
    for item in items:
        name = key(item)
        if known.get(name):
            continue
        try:
            done += work(item)
        except Exception as error:
            if transient(error):
                raise
            record_failure(db, follower, name, brand(item), error)
            continue
        recovered.append(name)
    still_parked = {
        row["item"] for row in db.fetch_all("SELECT item FROM parked_items WHERE follower = %s", (follower,))
    }
    cleared(db, follower, [name for name in recovered if name in still_parked])
    return done


def to_retry(db: Database, follower: str) -> list[dict[str, Any]]:
    """Log positions an operator handed back (`parked retry`), for the follower to apply again."""
    return db.fetch_all(
        "SELECT id, item FROM parked_items WHERE follower = %s AND status = 'retry' ORDER BY id", (follower,)
    )


def inherit(db: Database, predecessor: str, successors: Sequence[str]) -> int:
    """Give the items a follower left behind to the followers that took its place: each gets its
    own copy (status, attempts, error and times kept), and the predecessor's rows go, in one
    transaction; how many rows went. Nothing an operator parked or handed back is lost when a
    follower is split (the single relay of earlier releases into one per channel)."""
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO parked_items
                   (follower, item, brand_id, error, attempts, status, first_seen, last_seen)
               SELECT heir, item, brand_id, error, attempts, status, first_seen, last_seen
               FROM parked_items, unnest(%s::text[]) AS heir WHERE follower = %s
               ON CONFLICT (follower, item) DO NOTHING""",
            (list(successors), predecessor),
        )
        cur.execute("DELETE FROM parked_items WHERE follower = %s", (predecessor,))
        return int(cur.rowcount)


def retry_parked(db: Database, follower: str, reapply: Callable[[int], None]) -> int:
    """Apply handed-back log positions again: a success forgets the item, a failure parks it again."""
    done = 0
    for row in to_retry(db, follower):
        try:
            reapply(int(row["item"]))
        except Exception as error:
            if transient(error):
                raise
            with db.transaction() as cur:
                park(cur, follower, row["item"], None, error, 1)
            continue
        db.execute("DELETE FROM parked_items WHERE id = %s", (row["id"],))
        done += 1
    return done


def listing(db: Database, follower: str | None = None) -> list[dict[str, Any]]:
    return db.fetch_all(
        """SELECT id, follower, item, brand_id, status, attempts, first_seen, last_seen, error
           FROM parked_items WHERE %(f)s::text IS NULL OR follower = %(f)s ORDER BY id""",
        {"f": follower},
    )


def hand_back(db: Database, ids: Sequence[int] | None) -> int:
    """Hand parked items back to their followers: log positions are applied again, rows retried.

    `None` hands back every parked item. A row item (a campaign, an account, an enrollment) is
    simply forgotten, so its periodic job tries it afresh; a log position is marked for its follower.
    """
    return db.execute(
        """UPDATE parked_items SET status = 'retry', attempts = 0
           WHERE status IN ('parked', 'failing') AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))""",
        {"ids": list(ids) if ids is not None else None},
    )


def parked_dispatches(db: Database) -> set[str]:
    """Enrollments with a dispatch a channel worker parked (items are `enrollment:step`)."""
    rows = db.fetch_all(
        """SELECT DISTINCT split_part(item, ':', 1) AS enrollment FROM parked_items
           WHERE follower LIKE 'worker:%%' AND status = 'parked'"""
    )
    return {row["enrollment"] for row in rows}


def counts(db: Database) -> dict[str, int]:
    rows = db.fetch_all(
        "SELECT follower, count(*) AS n FROM parked_items WHERE status = 'parked' GROUP BY follower"
    )
    return {row["follower"]: row["n"] for row in rows}
