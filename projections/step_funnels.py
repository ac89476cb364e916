"""Read model: each campaign's funnel per step kept as counts, now and as of any moment, so the
console's funnel reads a few rows instead of counting the campaign's StepExecutions.

Owned by the StepExecutions read model (projections/step_executions.py), which calls `touched`
before and `count_changes` after it writes a batch, in the same transaction: the rows the batch
touches are read before and after it, and the difference is added to the counts. Now
(`step_funnel_counts`): per campaign and step, the rows that `LIVE`'s expressions hold for, the
same expressions the grouped count (`FUNNELS_COUNTED`, the reference) counts with. As of a moment
(`step_funnel_moments`): per campaign, step and bucket of time (a day, an hour and a minute, the
three buckets holding each time), how many rows reached each stage in that bucket (enrolled: its
`created_at`; the others: its `<stage>_first_at`), and for the minute buckets each of those times
listed (`added`; a time a row left, when a first time moved earlier, in `removed`). The funnel as
of m is the whole days before m's day, the whole hours of its day before its hour, the whole
minutes of its hour before its minute, and the listed times of its minute up to m: at most some
84 rows a step however long the campaign, and one minute's list (`FUNNELS_AT`); the grouped count
over the rows with those times (`FUNNELS_COUNTED_AS_OF`, the reference) gives the same. See
docs/decisions/0036-the-funnel-kept-as-counts.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.withdrawal import ONE_CLICK_WORDS, STOP_KEYWORD_WORDS
from storage.row_sets import Columns, arrays, unnested

FUNNEL = ("enrolled", "sent", "delivered", "opened", "clicked", "replied", "bounced", "unsubscribed")
# When a row counts in its step's funnel now: the one place these are written, for the grouped
# count (the reference) and the per-row values whose differences are kept.
LIVE = {
    "enrolled": "true",
    "sent": "sent_at IS NOT NULL",
    "delivered": "status = 'delivered'",
    "opened": "opened_at IS NOT NULL",
    "clicked": "clicked_first_at IS NOT NULL",
    "replied": "replied_at IS NOT NULL",
    "bounced": "status = 'undelivered'",
    "unsubscribed": "status = 'withdrawn' AND (strpos(error, %(one_click)s) > 0 OR strpos(error, %(stop)s) > 0)",
}
WORDS = {"one_click": ONE_CLICK_WORDS, "stop": STOP_KEYWORD_WORDS}
# When a row reached each stage (enrolled: when it was made), for the funnel as of a moment.
REACHED_AT = {"enrolled": "created_at", **{name: f"{name}_first_at" for name in FUNNEL[1:]}}

FUNNELS_COUNTED = (
    "SELECT step_id, "
    + ", ".join(f"count(*) FILTER (WHERE {LIVE[name]}) AS {name}" for name in FUNNEL)
    + " FROM step_executions WHERE campaign_id = %(campaign)s GROUP BY step_id"
)
FUNNELS_COUNTED_AS_OF = (
    "SELECT step_id, "
    + ", ".join(f"count(*) FILTER (WHERE {REACHED_AT[name]} <= %(moment)s) AS {name}" for name in FUNNEL)
    + " FROM step_executions WHERE campaign_id = %(campaign)s AND created_at <= %(moment)s GROUP BY step_id"
)
TOUCHED = (
    "SELECT t.campaign_id, t.step_id, t.enrollment_id, "
    + ", ".join(f"coalesce({LIVE[name]}, false)" for name in FUNNEL)
    + ", "
    + ", ".join(REACHED_AT[name] for name in FUNNEL)
    + " FROM step_executions AS t JOIN unnest(%(enrollments)b::uuid[], %(steps)b::text[])"
    " AS u(enrollment_id, step_id) USING (enrollment_id, step_id)"
)

Key = tuple[UUID, str]  # (enrollment, step): one StepExecutions row
Seen = dict[Key, tuple[Any, ...]]  # a row's campaign, step, live values and reached times


def touched(cur: Any, keys: Iterable[Key]) -> Seen:
    """The funnel's view of these StepExecutions rows as they stand (those that exist)."""
    wanted = list(keys)
    if not wanted:
        return {}
    params = {"enrollments": [key[0] for key in wanted], "steps": [key[1] for key in wanted], **WORDS}
    with cur.connection.cursor(row_factory=tuple_row) as mine:
        mine.execute(TOUCHED, params)
        return {(row[2], row[1]): row for row in mine.fetchall()}


WIDTHS = (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1))
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
STAGES = len(FUNNEL)  # 8: a listed time is its microseconds since EPOCH times 8 plus its stage


def _bucket(at: datetime, width: timedelta) -> datetime:
    return at - (at - EPOCH) % width


def _listed(at: datetime, stage: int) -> int:
    return ((at - EPOCH) // timedelta(microseconds=1)) * STAGES + stage


def count_changes(cur: Any, before: Seen, after: Seen) -> None:
    """Add the difference between the rows as they stood before a batch and after it to the
    counts now and to the buckets of the times they reached each stage."""
    live: dict[tuple[UUID, str], list[int]] = defaultdict(lambda: [0] * STAGES)
    moved: dict[tuple[UUID, str, timedelta, datetime], list[int]] = defaultdict(lambda: [0] * STAGES)
    added: dict[tuple[UUID, str, datetime], list[int]] = defaultdict(list)
    removed: dict[tuple[UUID, str, datetime], list[int]] = defaultdict(list)
    for key, now in after.items():
        was = before.get(key)
        if was == now:
            continue
        campaign, step = now[0], now[1]
        if was is None or was[3 : 3 + STAGES] != now[3 : 3 + STAGES]:
            counts = live[(campaign, step)]
            for stage in range(STAGES):
                counts[stage] += now[3 + stage] - (was[3 + stage] if was else 0)
        for stage in range(STAGES):
            old, new = (was[3 + STAGES + stage] if was else None), now[3 + STAGES + stage]
            if old == new:
                continue
            for at, sign, lists in ((old, -1, removed), (new, 1, added)):
                if at is None:
                    continue
                for width in WIDTHS:
                    moved[(campaign, step, width, _bucket(at, width))][stage] += sign
                lists[(campaign, step, _bucket(at, WIDTHS[-1]))].append(_listed(at, stage))
    rows = [(*key, *counts) for key, counts in live.items() if any(counts)]
    columns = [("campaign_id", "uuid"), ("step_id", "text"), *((name, "integer") for name in FUNNEL)]
    sums = ", ".join(f"{name} = f.{name} + excluded.{name}" for name in FUNNEL)
    _upsert(
        cur,
        "step_funnel_counts",
        columns,
        sorted(rows, key=_order),
        f"(campaign_id, step_id) DO UPDATE SET {sums}",
    )
    minute = WIDTHS[-1]
    buckets = [
        (
            campaign,
            step,
            int(width.total_seconds()),
            at,
            *counts,
            _array(added.get((campaign, step, at)) if width == minute else None),
            _array(removed.get((campaign, step, at)) if width == minute else None),
        )
        for (campaign, step, width, at), counts in moved.items()
    ]
    columns = [
        ("campaign_id", "uuid"),
        ("step_id", "text"),
        ("width", "integer"),
        ("bucket", "timestamptz"),
        *((name, "integer") for name in FUNNEL),
        ("added", "text"),
        ("removed", "text"),
    ]
    _upsert(cur, "step_funnel_moments", columns, sorted(buckets, key=_order), MOMENTS_UPSERT)


def _order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(str(value) for value in row[:4])


LISTS = ("added", "removed")


def _upsert(cur: Any, table: str, columns: Columns, rows: list[tuple[Any, ...]], conflict: str) -> None:
    """Add each row to the table's row of its key (its columns summed, its lists appended to), in
    one statement; a listed column is sent as text and read as bigint[]."""
    if not rows:
        return
    names = SQL(", ").join(Identifier(name) for name, _ in columns)
    values = SQL(", ").join(
        SQL("u.{}::bigint[]" if name in LISTS else "u.{}").format(Identifier(name)) for name, _ in columns
    )
    cur.execute(
        SQL("INSERT INTO {} AS f ({}) SELECT {} FROM {} ON CONFLICT {}").format(
            Identifier(table),
            names,
            values,
            unnested(columns),
            SQL(conflict),
        ),
        arrays(rows, len(columns)),
    )


def _array(values: list[int] | None) -> str:
    """A bigint[] written as text (an array of arrays cannot be unnested row by row)."""
    return "{" + ",".join(map(str, values or ())) + "}"


MOMENTS_UPSERT = (
    "(campaign_id, width, bucket, step_id) DO UPDATE SET "
    + ", ".join(f"{name} = f.{name} + excluded.{name}" for name in FUNNEL)
    + ", added = f.added || excluded.added, removed = f.removed || excluded.removed"
)


def reset(cur: Any) -> None:
    cur.execute("DELETE FROM step_funnel_counts")
    cur.execute("DELETE FROM step_funnel_moments")


# Now: the kept counts, with the read model's position and whether one of its events is parked
# (one snapshot).
AT_POSITION = """
WITH at AS (
    SELECT coalesce((SELECT position FROM projection_positions WHERE projection = %(name)s), 0) AS position,
           EXISTS (SELECT 1 FROM parked_items WHERE follower = %(follower)s) AS parked
)
SELECT at.position, at.parked, counts.* FROM at LEFT JOIN ({counts}) AS counts ON true
"""
FUNNELS_NOW = AT_POSITION.replace(
    "{counts}",
    "SELECT step_id, " + ", ".join(FUNNEL) + " FROM step_funnel_counts WHERE campaign_id = %(campaign)s",
)
_PARTIAL = ", ".join(f"sum(sign) FILTER (WHERE stage = {i}) AS {name}" for i, name in enumerate(FUNNEL))
FUNNELS_AT = AT_POSITION.replace(
    "{counts}",
    "SELECT step_id, "
    + ", ".join(f"sum({name}) AS {name}" for name in FUNNEL)
    + " FROM (SELECT step_id, "
    + ", ".join(FUNNEL)
    + """ FROM step_funnel_moments WHERE campaign_id = %(campaign)s AND (
             (width = 86400 AND bucket < %(day)s)
          OR (width = 3600 AND bucket >= %(day)s AND bucket < %(hour)s)
          OR (width = 60 AND bucket >= %(hour)s AND bucket < %(minute)s))
      UNION ALL
      SELECT step_id, """
    + ", ".join(f"coalesce(listed.{name}, 0)" for name in FUNNEL)
    + """ FROM step_funnel_moments, LATERAL (SELECT """
    + _PARTIAL
    + """ FROM (SELECT (e & 7) AS stage, 1 AS sign FROM unnest(added) AS e WHERE (e >> 3) <= %(us)s
                   UNION ALL
                   SELECT (e & 7), -1 FROM unnest(removed) AS e WHERE (e >> 3) <= %(us)s) AS entries
          ) AS listed
      WHERE campaign_id = %(campaign)s AND width = 60 AND bucket = %(minute)s
    ) AS parts GROUP BY step_id HAVING sum(enrolled) > 0""",  # as the grouped count: the steps with a row then
)


def moment_params(moment: datetime) -> dict[str, Any]:
    """FUNNELS_AT's bounds for a moment: the start of its day, hour and minute, and its microseconds."""
    day, hour, minute = (_bucket(moment, width) for width in WIDTHS)
    return {"day": day, "hour": hour, "minute": minute, "us": _listed(moment, 0) // STAGES}
