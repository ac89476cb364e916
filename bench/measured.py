"""Runs one command in this process and reports its wall time and peak memory, for the benchmarks.

    python -m bench.measured REPORT.json -- MODULE [ARGS...]

runs `MODULE`'s `main(ARGS)` (the CLI's, or an anchor's), then writes {"seconds", "status",
"peak_rss_mb"} to REPORT.json. Peak RSS is the whole process's (resource.getrusage), so each
measured command runs alone in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time


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


if __name__ == "__main__":
    sys.exit(main())
