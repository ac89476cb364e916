"""Benchmark: launch-to-sent throughput of the embedded default, beside the design's anchors.

Starts an embedded PostgreSQL in a temporary folder and the whole service in this process
(in-process transport, sandbox provider), launches a one-step EMAIL campaign to N contacts and
times two phases: enrolling the audience and sending every step (until the read model shows all
N sent). Anchors measured in the same run on the same database: the architecture this service
replaces, per send one conditional quota UPDATE, one execution INSERT and one metrics UPDATE in
a transaction (DESIGN.md puts it near 1,300 sends/s on 2 cores), and the event store's raw cost
of saving N new small aggregates in chunks of 1,000.

    .venv/bin/python bench/send_throughput.py [--contacts 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.domain import Aggregate

from domain.credit_ledger import Plan
from runtime.embedded_postgres import EmbeddedPostgres
from runtime.service import build_service
from runtime.settings import Settings


class Probe(Aggregate):
    """A small aggregate for the event-store anchor."""

    def __init__(self, n: int) -> None:
        self.n = n


def wait_for(check, timeout: float = 900.0, interval: float = 0.1) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the benchmark did not finish in time")
        time.sleep(interval)
    return time.perf_counter() - started


def replaced_architecture(db, sends: int) -> float:
    """Per send: conditional quota UPDATE, execution INSERT, metrics UPDATE, one transaction."""
    with db.transaction() as cur:
        cur.execute("CREATE TABLE bench_quota (id int PRIMARY KEY, sends_today int, daily_limit int)")
        cur.execute("CREATE TABLE bench_executions (id uuid PRIMARY KEY, contact int, sent_at timestamptz)")
        cur.execute("CREATE TABLE bench_metrics (id int PRIMARY KEY, sent int)")
        cur.execute("INSERT INTO bench_quota VALUES (1, 0, %s)", (sends + 1,))
        cur.execute("INSERT INTO bench_metrics VALUES (1, 0)")
    started = time.perf_counter()
    for contact in range(sends):
        with db.transaction() as cur:
            cur.execute(
                "UPDATE bench_quota SET sends_today = sends_today + 1 WHERE id = 1 AND sends_today < daily_limit"
            )
            cur.execute("INSERT INTO bench_executions VALUES (%s, %s, now())", (uuid4(), contact))
            cur.execute("UPDATE bench_metrics SET sent = sent + 1 WHERE id = 1")
    seconds = time.perf_counter() - started
    with db.transaction() as cur:
        cur.execute("DROP TABLE bench_quota, bench_executions, bench_metrics")
    return seconds


def event_store_saves(app, count: int) -> float:
    started = time.perf_counter()
    for chunk in range(0, count, 1000):
        app.save(*[Probe(n) for n in range(chunk, min(chunk + 1000, count))])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    args = parser.parse_args(argv)
    n = args.contacts
    with tempfile.TemporaryDirectory(prefix="send-bench-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", durable=True)
        container = build_service(Settings(database_url=server.start()))
        try:
            container.start()
            from tests.support import Client  # the same API driver the tests use

            client = Client(container, Plan.PREMIUM)
            client.sender("email", "sales@brand.example", daily_limit=10 * n)
            group = client.ok(client.post("/v1/lead-groups", {"name": "bench"}), 201)["id"]
            rows = [{"email": f"lead{i}@example.com", "first_name": f"L{i}"} for i in range(n)]
            for start in range(0, n, 10_000):
                client.ok(
                    client.post(
                        f"/v1/lead-groups/{group}/contacts", {"contacts": rows[start : start + 10_000]}
                    )
                )
            steps = [{"type": "EMAIL", "group": 0, "subject": "Hi {{first_name}}", "body": "Hello"}]
            campaign = client.campaign(group, steps)

            def metrics() -> dict:
                return client.ok(client.get(f"/v1/campaign/{campaign}"))["metrics"]

            started = time.perf_counter()
            client.ok(client.post(f"/v1/campaign/{campaign}/launch"))
            wait_for(lambda: metrics()["enrolled"] == n)
            enrolled = time.perf_counter() - started
            wait_for(lambda: metrics()["sent"]["email"] == n)
            sent = time.perf_counter() - started
            container.close()
            container = None
            anchor_db = build_service(Settings(database_url=server.url))
            old = replaced_architecture(anchor_db.db, n)
            saves = event_store_saves(anchor_db.app, n)
            anchor_db.close()

            print(f"{n:,} contacts, one EMAIL step, embedded default (one process, in-process transport)")
            print(f"{'measure':<44}{'seconds':>9}{'per second':>12}")
            print(f"{'enrolled (launch -> all enrolled)':<44}{enrolled:>9.2f}{n / enrolled:>12,.0f}")
            print(f"{'sent (launch -> read model shows all sent)':<44}{sent:>9.2f}{n / sent:>12,.0f}")
            print(f"{'anchor: replaced design, 3 statements/send':<44}{old:>9.2f}{n / old:>12,.0f}")
            print(f"{'anchor: event store, new aggregates x1000':<44}{saves:>9.2f}{n / saves:>12,.0f}")
        finally:
            if container is not None:
                container.close()
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
