"""Benchmark: `campaign-service events export --format parquet` over a seeded history, beside COPY.

Starts an embedded PostgreSQL in a temporary folder (loopback only), seeds about N events
(bench/history_seed.py), then runs, each in a fresh process: the anchor, PostgreSQL's own COPY of
the same rows to a client (bench/copy_anchor.py), and the export. Prints events/s and the peak
memory (RSS) of each process. Targets: 50,000 events/s or more, under 300 MB.

    .venv/bin/python -m bench.export [--events 1000000] [--format parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runtime.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[1]


def measured(report: Path, module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `module`'s main(args) in a fresh interpreter; its wall time and peak RSS."""
    subprocess.run(
        [sys.executable, "-m", "bench.measured", str(report), "--", module, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(report.read_text())
    if result["status"] != 0:
        raise RuntimeError(f"{module} {' '.join(args)} exited {result['status']}")
    return result


def table(rows: list[tuple[str, int, dict[str, float]]]) -> str:
    lines = [f"{'what':<44} {'events':>10} {'seconds':>8} {'events/s':>10} {'peak RSS':>9}"]
    for what, events, result in rows:
        rate = events / result["seconds"]
        lines.append(
            f"{what:<44} {events:>10,} {result['seconds']:>8.1f} {rate:>10,.0f} {result['peak_rss_mb']:>6.0f} MB"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv", "jsonl"], default="parquet")
    args = parser.parse_args(argv)
    from bench.history_seed import seed

    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        work = Path(folder)
        server = EmbeddedPostgres(work / "pg", durable=False)
        url = server.start()
        try:
            started = time.perf_counter()
            events = seed(url, args.events)
            print(f"seeded {events:,} events in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            anchor = measured(work / "anchor.json", "bench.copy_anchor", url)
            out = work / f"events.{args.format}"
            export = measured(
                work / "export.json",
                "runtime.cli",
                *("events", "export", "--format", args.format, "--out", str(out)),
                env={"DATABASE_URL": url},
            )
            print(f"{out.name}: {out.stat().st_size / 1e6:,.0f} MB", file=sys.stderr)
        finally:
            server.stop()
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
