"""`python -m soak [--schedules 20] [--seed S]`: the soak under random faults (soak/__init__.py);
schedule i runs with seed S + i, and exits 1 when any schedule found a violation."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from soak.run import soak, table
from soak.schedule import Limits


def main(argv: list[str] | None = None) -> int:
    defaults = Limits()
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=20, help="how many schedules (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="the first schedule's seed (default: random)")
    parser.add_argument("--contacts", type=int, default=defaults.contacts, help="per campaign (at most 50)")
    parser.add_argument(
        "--fault-seconds", type=float, default=defaults.fault_seconds, help="the faulty phase"
    )
    parser.add_argument("--finish-seconds", type=float, default=defaults.finish_seconds)
    parser.add_argument("--folder", type=Path, default=None, help="scratch folder (default: the system's)")
    args = parser.parse_args(argv)
    if not 1 <= args.contacts <= 50:
        parser.error("--contacts must be 1 to 50")
    if not 1 <= args.schedules <= 1000:
        parser.error("--schedules must be 1 to 1000")
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    limits = Limits(
        contacts=args.contacts, fault_seconds=args.fault_seconds, finish_seconds=args.finish_seconds
    )

    def say(text: str) -> None:
        print(text, flush=True)

    say(f"soak: {args.schedules} schedules from seed {first}, {limits}")
    reports = soak(range(first, first + args.schedules), limits, say, args.folder)
    say(table(reports))
    return 1 if any(r.violations for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
