"""Benchmark: the send rate on a store that already holds a year of history, beside an empty store.

Starts one embedded PostgreSQL (the suite's Infrastructure, loopback only) and builds, once, a
history database: about N events of finished campaigns of other brands over the year before
(benchmarks/history_seed.py's `seed_year_of_use`: events by COPY, their personal data sealed as
the service seals them, contacts, lead groups and launch audiences), its read models rebuilt (`campaign-service replay`), then `campaign-service serve`
started on it until every log follower (the projector's read models, the relays, settlement; the
deliverability guard at the last outcome) stands at the head of the log, as after a year of use,
and a VACUUM ANALYZE of every table, as autovacuum would have done. Then, in each repetition, alternating which goes first: N sends (the suite's `sends` scenario, "serve (HTTP
API, in-process transport)": a new premium brand, a sandbox sender, N contacts uploaded, a
one-step EMAIL campaign, launch to all sent from the API's metrics) on a fresh empty database (the
anchor) and on a fresh file copy of the history database, every `serve` with the same
CREDENTIALS_KEY (as one deployment keeps its key). Prints the median, range and ratio of
the two rates, and the load average after each run.

With `--statements N`, PostgreSQL's pg_stat_statements is loaded (as profile_stages loads it)
and each store's N statements of most total time in its last run (setting up included) are
printed, with their calls and mean time, and after each run the shared buffers its statements
found in PostgreSQL's pool, read in and wrote out, to compare what costs more on the history.

    .venv/bin/python -m benchmarks.sends_with_history [--history-events 1000000] [--sends 20000] [--repeat 3]
        [--statements 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import psycopg
from cryptography.fernet import Fernet

from benchmarks.history_seed import seed_year_of_use
from benchmarks.profile_stages import enable_statement_statistics, top_statements
from benchmarks.suite.brand_client import wait_until
from benchmarks.suite.infrastructure import Infrastructure, NotMeasured
from benchmarks.suite.results import Results, machine
from benchmarks.suite.sends import serve_sends
from benchmarks.suite.service_processes import Processes, start_serve

EMPTY = "anchor: serve on an empty store"
CATCH_UP_LIMIT = 3600.0  # seconds for serve to follow the seeded history


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def followers_behind(url: str) -> int:
    """How many events the slowest log follower still has to read (the log's head minus the
    lowest recorded position; the head while a follower has recorded none)."""
    from runtime.bootstrap import PROJECTIONS
    from runtime.roles import CHANNELS

    with psycopg.connect(url, autocommit=True) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM campaigns_events").fetchone()[0]  # type: ignore[index]
        positions = dict(conn.execute("SELECT projection, position FROM projection_positions").fetchall())
        positions |= {
            f"relay {k}": v for k, v in conn.execute("SELECT relay, position FROM relay_positions").fetchall()
        }
        row = conn.execute("SELECT position FROM settlement_position").fetchone()
        positions["settlement"] = row[0] if row else 0
        # the deliverability guard follows the outcomes (bounces, opt-outs) the read model recorded
        outcomes = conn.execute(
            """SELECT coalesce(max(outcome_position), 0) - coalesce((SELECT max(position)
               FROM deliverability_guard_position), 0) FROM deliverability_sends"""
        ).fetchone()[0]  # type: ignore[index]
    expected = [p.name for p in PROJECTIONS] + [f"relay relay:{c}" for c in CHANNELS] + ["settlement"]
    lowest = min(positions.get(name, 0) for name in expected)
    return max(int(head - lowest), int(outcomes))


def buffer_totals(url: str) -> str:
    """The run's statements' shared buffers: found in the pool, read in, written out by them."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT sum(shared_blks_hit), sum(shared_blks_read), sum(shared_blks_written),
                      sum(total_exec_time) FROM pg_stat_statements
               WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        ).fetchone()
    hit, read, written, took = row if row else (0, 0, 0, 0)
    return f"{hit:,} hit, {read:,} read, {written:,} written; statements {took / 1000:,.1f} s"


def caught_up_history(infra: Infrastructure, events: int, key: str) -> tuple[str, int]:
    """The history database: seeded (personal data sealed under `key`), followed by serve to the
    head, vacuumed; its URL and events."""
    url = infra.fresh_database()
    started = time.perf_counter()
    stored = seed_year_of_use(url, events, key)
    print(f"seeded {stored:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    subprocess.run(  # the read models, faster than the projector would follow so many events
        [sys.executable, "-m", "runtime.cli", "replay"],
        env={**os.environ, "DATABASE_URL": url, "CREDENTIALS_KEY": key},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"read models replayed in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    with Processes(infra.folder / "catch-up") as processes:
        start_serve(processes, url, CREDENTIALS_KEY=key)
        wait_until(lambda: followers_behind(url) == 0, CATCH_UP_LIMIT, "serve caught up", interval=2.0)
        time.sleep(5)  # what the followers write after the head (completions, settlement) settles
        wait_until(lambda: followers_behind(url) == 0, CATCH_UP_LIMIT, "serve caught up", interval=2.0)
    print(f"serve followed the history in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        stored = conn.execute("SELECT max(notification_id) FROM campaigns_events").fetchone()[0]  # type: ignore[index]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        parked = conn.execute("SELECT count(*) FROM parked_items").fetchone()[0]  # type: ignore[index]
    print(
        f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s: {stored:,} events,"
        f" {size / 2**20:,.0f} MiB, {parked} parked items",
        flush=True,
    )
    return url, int(stored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-events", type=int, default=1_000_000)
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statements", type=int, default=0, help="print each store's top N statements")
    args = parser.parse_args(argv)
    results = Results()
    scenario = f"sends {args.sends:,}"
    statements: dict[str, list[tuple[float, int, int, str]]] = {}
    with Infrastructure() as infra:
        if args.statements:
            enable_statement_statistics(infra)
        key = Fernet.generate_key().decode()  # the service's one key, as in production
        history, stored = caught_up_history(infra, args.history_events, key)
        with_history = f"serve on {stored:,} events of history"
        results.figure(scenario, with_history, "sends/s", EMPTY)
        results.figure(scenario, EMPTY, "sends/s")
        stores = [(EMPTY, None), (with_history, history)]
        for repetition in range(args.repeat):
            for measure, template in stores if repetition % 2 == 0 else stores[::-1]:
                url = infra.fresh_database(copy_of=template)
                try:
                    if args.statements:
                        with psycopg.connect(url, autocommit=True) as conn:
                            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                    rate, _ = serve_sends(infra, url, args.sends, CREDENTIALS_KEY=key)
                    if args.statements:
                        statements[measure] = top_statements(url, args.statements)
                        print(f"    PostgreSQL's buffers in that run: {buffer_totals(url)}")
                    results.add(scenario, measure, "sends/s", rate, None if template is None else EMPTY)
                    print(
                        f"  run {repetition + 1}/{args.repeat}, {measure}: {rate:,.0f} sends/s (load {load()})"
                    )
                except NotMeasured as reason:
                    results.fail(scenario, measure, "sends/s", str(reason))
                    print(f"  run {repetition + 1}/{args.repeat}, {measure}: not measured: {reason}")
                finally:
                    infra.drop_database(url)
                sys.stdout.flush()
    for measure, top in statements.items():
        print(f"\n{measure}, last run: total ms, calls, mean ms, statement")
        for total, calls, _, query in top:
            print(f"{total:10,.0f} {calls:8,} {total / max(calls, 1):8.2f}  {query[:150]}")
    print(f"\n{machine()}\n")
    print(results.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
