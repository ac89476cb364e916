"""The anchor of the history benchmarks: PostgreSQL's own COPY of the stored events to a client.

    python -m benchmarks.copy_anchor URL

streams `COPY (SELECT ... FROM campaigns_events ORDER BY notification_id) TO STDOUT` and discards
it: the fastest the stored rows leave the database, with no decoding at all.
"""

from __future__ import annotations

import sys

import psycopg

STATEMENT = (
    "COPY (SELECT notification_id, originator_id, originator_version, topic, state"
    " FROM campaigns_events ORDER BY notification_id) TO STDOUT"
)


def main(args: list[str]) -> int:
    rows = 0
    with psycopg.connect(args[0]) as conn, conn.cursor() as cur, cur.copy(STATEMENT) as copy:
        for block in copy:
            rows += bytes(block).count(b"\n")
    print(f"copied {rows:,} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
