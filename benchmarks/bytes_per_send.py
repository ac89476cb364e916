"""Benchmark: bytes of PostgreSQL per sent one-step contact, relation by relation (issue 29, target 2).

Starts an embedded PostgreSQL (loopback only) and `campaign-service serve` on it as a user starts
it; a premium brand uploads N contacts and launches a one-step EMAIL campaign on a sandbox sender;
once every contact is sent, the campaign COMPLETED and every projection past the last event, the
service stops and each table of the database, with its TOAST and each of its indexes, is read after
a plain VACUUM (ANALYZE): bytes per sent contact over the freshly migrated database (what the disk
holds, `pg_total_relation_size`) and the live rows' bytes (`sum(pg_column_size(t.*))`) beside it.
The total is judged against the target (3,000 bytes) and the anchor: the replaced design's tables
(benchmarks/suite/replaced_design.py) after the same N sends on the same server. Then what is left in
the transient tables, and, as a side measurement, what the stored events are made of and what a
compact encoding or the library's compressor would make of them (benchmarks/event_bytes.py).

    .venv/bin/python -m benchmarks.bytes_per_send [--contacts 20000]
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg

from benchmarks.event_bytes import print_event_bytes
from benchmarks.relation_bytes import Relation, vacuumed_relations
from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient, wait_until
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.replaced_design import replaced_design_seconds
from benchmarks.suite.service_processes import Processes, create_brand, start_serve

TARGET = 3_000
# Rows that only exist while work is under way; after completion each should hold no row.
TRANSIENT = (
    "due_steps",
    "steps_in_flight",
    "launch_audiences",
    "enrollment_progress",
    "settlement_open_attempts",
    "parked_items",
)
# The sandbox provider's own mailbox: what a real provider keeps on its side, not ours.
PROVIDER_SIDE = ("sandbox_outbox", "sandbox_refusals")


def caught_up(url: str) -> bool:
    """Every projection's position at or past the last event in the log."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """SELECT (SELECT max(notification_id) FROM campaigns_events),
                      (SELECT min(position) FROM projection_positions)"""
        ).fetchone()
    return row is not None and row[0] is not None and row[1] is not None and row[1] >= row[0]


def run_service(infra: Infrastructure, n: int) -> tuple[str, dict[str, Relation], dict[str, Relation]]:
    """N one-step emails through a fresh `serve` to COMPLETED; the database's URL and its relations
    right after the service migrated it, and after the sends (the service stopped)."""
    url = infra.fresh_database()
    with Processes(infra.folder / "serve") as processes:
        serve, base_url = start_serve(processes, url)
        empty = vacuumed_relations(url)
        client = BrandClient(base_url, create_brand(url, "premium", processes.folder))
        try:
            client.email_sender(daily_limit=n)
            campaign = client.campaign(client.lead_group(n), [EMAIL_STEP])
            started = time.perf_counter()
            client.launch(campaign)
            limit = 120 + n / 50
            wait_until(lambda: client.metrics(campaign)["sent"]["email"] >= n, limit, f"{n:,} sent")
            status = lambda: client.call("GET", f"/v1/campaign/{campaign}")["status"]  # noqa: E731
            wait_until(lambda: status() == "COMPLETED", 120, "COMPLETED")
            wait_until(lambda: caught_up(url), 120, "projections caught up")
            print(f"{n:,} sent and COMPLETED in {time.perf_counter() - started:.1f} s", flush=True)
        finally:
            client.close()
        time.sleep(2)  # the timed jobs' last pass (settlement, guard) after the projections
        serve.stop()
    return url, empty, vacuumed_relations(url)


def replaced_design_bytes(infra: Infrastructure, n: int) -> int:
    url = infra.fresh_database()
    try:
        replaced_design_seconds(url, n)
        tables = vacuumed_relations(url)
        return sum(r.total for name, r in tables.items() if name.startswith("bench_"))
    finally:
        infra.drop_database(url)


def print_relations(empty: dict[str, Relation], after: dict[str, Relation], n: int) -> int:
    """The table per relation, biggest first; returns the service's total bytes per contact."""
    print(f"\n{'relation (per sent contact)':<52} {'on disk':>9} {'live rows':>10} {'rows':>9}")
    grown = {name: r.total - (empty[name].total if name in empty else 0) for name, r in after.items()}
    total = ours = 0
    for name in sorted(after, key=lambda k: -grown[k]):
        relation, before = after[name], empty.get(name, Relation(name, 0, 0))
        total += grown[name]
        ours += grown[name] if name not in PROVIDER_SIDE else 0
        if grown[name] == 0 and relation.rows == 0:
            continue
        note = " (sandbox provider's mailbox)" if name in PROVIDER_SIDE else ""
        print(
            f"{name + note:<52} {grown[name] / n:>9,.1f} {relation.row_bytes / n:>10,.1f} {relation.rows:>9,}"
        )
        if relation.updates:
            print(
                f"    (updates per contact: {relation.updates / n:.1f}, of which HOT {relation.hot_updates / n:.1f})"
            )
        parts = {"heap": relation.heap - before.heap, "toast": relation.toast - before.toast}
        parts |= {i: s - before.indexes.get(i, 0) for i, s in relation.indexes.items()}
        for part, size in parts.items():
            if size:
                print(f"    {part:<48} {size / n:>9,.1f}")
    print(f"{'total, every relation':<52} {total / n:>9,.1f}")
    print(f"{'total without the sandbox mailbox (the target)':<52} {ours / n:>9,.1f}")
    return ours // n


def print_transient(after: dict[str, Relation]) -> None:
    print("\nTransient tables after completion (after VACUUM):")
    for name in TRANSIENT:
        if name in after:
            r = after[name]
            what = f"{r.rows:,} rows ({r.row_bytes:,} B)" if r.rows else "no rows"
            print(
                f"  {name:<26} {what:<26} on disk {r.total:>10,} B"
                f" (dead rows before VACUUM: {r.dead_before_vacuum:,})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--event-sample", type=int, default=4_000, help="stored events encoded both ways")
    args = parser.parse_args(argv)
    n = args.contacts
    with Infrastructure() as infra:
        url, empty, after = run_service(infra, n)
        ours = print_relations(empty, after, n)
        anchor = replaced_design_bytes(infra, n) / n
        print(f"{'anchor: replaced design, same sends':<52} {anchor:>9,.1f}")
        print(
            f"\nJudged on the total on disk after VACUUM without the sandbox mailbox:"
            f" {ours:,} B per sent contact, target {TARGET:,} ({ours / TARGET:.2f}x),"
            f" anchor {anchor:,.0f} ({ours / anchor:.1f}x)"
        )
        print_transient(after)
        print_event_bytes(url, n, args.event_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
