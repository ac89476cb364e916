"""Benchmark: what the hash-chain trigger (migration 0003) costs the event store's writers.

Starts an embedded PostgreSQL in a temporary folder (loopback only) and saves small new aggregates
in batches of 1,000 (the shape of the send path's writes) and one by one, alternately with the
trigger enabled and disabled, twice each, and prints events/s for each.

    .venv/bin/python -m benchmarks.chain_overhead [--events 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from eventsourcing.domain import Aggregate

from commands.application import CampaignApplication
from runtime.embedded_postgres import EmbeddedPostgres
from storage.database import event_store_env
from storage.schema import upgrade


class Probe(Aggregate):
    """A small aggregate: one event."""

    def __init__(self, n: int) -> None:
        self.n = n


def saves_per_second(store: CampaignApplication, events: int, batch: int) -> float:
    started = time.perf_counter()
    for _ in range(0, events, batch):
        store.save(*[Probe(n) for n in range(batch)])
    return events / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as folder:
        server = EmbeddedPostgres(Path(folder), durable=False)
        url = server.start()
        try:
            upgrade(url)
            store = CampaignApplication(env=event_store_env(url))
            print(f"{'trigger':<9} {'batches of 1,000':>18} {'single saves':>14}")
            for enabled in (True, False, True, False):
                with psycopg.connect(url, autocommit=True) as conn:
                    switch = "ENABLE" if enabled else "DISABLE"
                    conn.execute(f"ALTER TABLE campaigns_events {switch} TRIGGER event_chain_append_rows")
                batched = saves_per_second(store, args.events, 1000)
                single = saves_per_second(store, args.events // 10, 1)
                print(f"{'on' if enabled else 'off':<9} {batched:>12,.0f} ev/s {single:>9,.0f} ev/s")
            store.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
