"""Benchmark: `campaign-service events export --format parquet` over a seeded history, beside COPY.

Starts an embedded PostgreSQL in a temporary folder (loopback only), seeds about N events
(benchmarks/history_seed.py), then runs, each in a fresh process: the anchor, PostgreSQL's own COPY of
the same rows to a client (benchmarks/copy_anchor.py), and the export. Prints events/s and the peak
memory (RSS) of each process. Targets: 50,000 events/s or more, under 300 MB.

    .venv/bin/python -m benchmarks.export [--events 1000000] [--format parquet]
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.measured import measured, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv", "jsonl"], default="parquet")
    args = parser.parse_args(argv)
    from benchmarks.history_seed import seeded_history

    with seeded_history("bench-export-", args.events) as (work, url, events):
        anchor = measured(work / "anchor.json", "benchmarks.copy_anchor", url)
        out = work / f"events.{args.format}"
        export = measured(
            work / "export.json",
            "runtime.cli",
            *("events", "export", "--format", args.format, "--out", str(out)),
            env={"DATABASE_URL": url},
        )
        print(f"{out.name}: {out.stat().st_size / 1e6:,.0f} MB", file=sys.stderr)
    print(
        table(
            [
                ("anchor: COPY (SELECT ...) TO STDOUT", events, anchor),
                (f"campaign-service events export ({args.format})", events, export),
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
