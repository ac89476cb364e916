"""Runs one command in a fresh process and reports its wall time and peak memory, for the benchmarks.

    python -m benchmarks.measured REPORT.json -- MODULE [ARGS...]

runs `MODULE`'s `main(ARGS)` (the CLI's, or an anchor's), then writes {"seconds", "status",
"peak_rss_mb"} to REPORT.json. Peak RSS is the whole process's (resource.getrusage), so each
measured command runs alone in a fresh interpreter; `measured()` does that from a benchmark and
`table()` prints the results beside each other.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    report, separator, module, *args = sys.argv[1:]
    if separator != "--":
        raise SystemExit(__doc__)
    entry = importlib.import_module(module).main
    started = time.perf_counter()
    status = entry(args)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with open(report, "w") as out:
        json.dump({"seconds": seconds, "status": status, "peak_rss_mb": peak_kib / 1024}, out)
    return 0


def measured(report: Path, module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `module`'s main(args) in a fresh interpreter; its wall time and peak RSS."""
    subprocess.run(
        [sys.executable, "-m", "benchmarks.measured", str(report), "--", module, *args],
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


if __name__ == "__main__":
    sys.exit(main())
