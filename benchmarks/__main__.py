"""The benchmark suite's command: `python -m benchmarks all` runs every scenario on one PostgreSQL (and
one Kafka broker), several times each, alternating the service and its anchors, then prints the
table and writes it to benchmarks/RESULTS.md with a PNG chart of the rates; `python -m benchmarks SCENARIO`
runs one scenario and prints its table only. `--quick` is a smoke run (small sizes, 2 runs)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from benchmarks.suite import as_of, chart, launch, overdraft, reads, sends
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.results import Results, write_markdown

HERE = Path(__file__).resolve().parent
SCENARIOS = ("sends", "launch", "reads", "overdraft", "as_of")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("scenario", choices=("all", *SCENARIOS))
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2,000 sends, 10,000 contacts, 2 runs"
    )
    parser.add_argument("--repeat", type=int, help="runs of each measure (default 3, quick 2)")
    parser.add_argument("--sizes", help="send counts, comma-separated (default 20000,100000; quick 2000)")
    parser.add_argument(
        "--contacts",
        type=int,
        help="contacts launched, and of the as_of campaign (default 100,000; quick 10,000)",
    )
    parser.add_argument("--note", default="", help="a line for RESULTS.md's header (e.g. what else ran)")
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder of RESULTS.md and the chart (all only)"
    )
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 3)
    default_sizes = "2000" if args.quick else "20000,100000"
    args.sizes = [int(size) for size in (args.sizes or default_sizes).split(",")]
    args.contacts = args.contacts or (10_000 if args.quick else 100_000)
    return args


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same orderly stop as Ctrl-C: servers stopped, folders removed


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    chosen = SCENARIOS if args.scenario == "all" else (args.scenario,)
    results = Results()
    started = time.monotonic()
    try:
        with Infrastructure() as infra:
            for scenario in chosen:
                print(f"== {scenario}", flush=True)
                if scenario == "sends":
                    sends.run(infra, results, args.sizes, args.repeat)
                elif scenario == "launch":
                    launch.run(infra, results, args.contacts, args.repeat)
                elif scenario == "reads":
                    reads.run(infra, results, args.repeat, quick=args.quick)
                elif scenario == "as_of":
                    as_of.run(infra, results, args.contacts, args.repeat)
                else:
                    overdraft.run(infra, results, args.repeat)
    except KeyboardInterrupt:
        print("interrupted: servers stopped, scratch folder removed; nothing written", file=sys.stderr)
        return 130
    minutes = (time.monotonic() - started) / 60
    print(results.table())
    print(f"({minutes:.1f} min)")
    if args.scenario == "all":
        kind = "quick smoke run" if args.quick else "full run"
        sizes = (
            f"{kind}: sends {', '.join(f'{n:,}' for n in args.sizes)}; launch {args.contacts:,} contacts;"
            f" {args.repeat} runs of each measure; {minutes:.0f} minutes in all"
        ) + (f". {args.note}" if args.note else "")
        png = args.out / "RESULTS.png"
        drawn = chart.draw(results, png)
        write_markdown(
            args.out / "RESULTS.md",
            results,
            f"Benchmark suite results ({kind})",
            sizes,
            png.name if drawn else None,
        )
        print(f"wrote {args.out / 'RESULTS.md'}" + (f" and {png}" if drawn else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
