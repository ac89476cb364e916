"""Benchmark: `campaign-service replay` of every read model over a seeded history, beside COPY.

Starts an embedded PostgreSQL in a temporary folder (loopback only), seeds about N events
(benchmarks/history_seed.py), then runs, each in a fresh process: the anchor, PostgreSQL's own COPY of
the same stored rows to a client (benchmarks/copy_anchor.py), and the replay, which rebuilds every
read model into copies and swaps them in. Prints events/s and peak memory (RSS) of each process,
and the rows the read models hold afterwards. Target: 20,000 events/s or more.

    .venv/bin/python -m benchmarks.replay [--events 1000000] [--projection NAME]
"""

from __future__ import annotations

import argparse
import sys

import psycopg

from benchmarks.measured import measured, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--projection", help="one read model (default: all)")
    args = parser.parse_args(argv)
    from benchmarks.history_seed import seeded_history

    with seeded_history("bench-replay-", args.events) as (work, url, events):
        anchor = measured(work / "anchor.json", "benchmarks.copy_anchor", url)
        chosen = ["--projection", args.projection] if args.projection else []
        replay = measured(work / "replay.json", "runtime.cli", "replay", *chosen, env={"DATABASE_URL": url})
        with psycopg.connect(url) as conn:
            counts = {
                name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
                for name in ("campaign_summaries", "due_steps", "steps_in_flight")
            }
    print(
        table(
            [
                ("anchor: COPY (SELECT ...) TO STDOUT", events, anchor),
                (f"campaign-service replay {' '.join(chosen)}".strip(), events, replay),
            ]
        )
    )
    print("read model rows after the replay: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
