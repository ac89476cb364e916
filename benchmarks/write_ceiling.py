"""Benchmark: the highest send rate the send path's event writes alone allow, beside the anchor.

On the suite's durable embedded PostgreSQL (a fresh database per measure), alternately: the
replaced design's anchor (benchmarks/suite/replaced_design.py, 8 connections) and the writes a one-step
email makes today, and nothing else: N real enrollments in batches of 500 as the enroller and the
worker write them, each batch's `ContactEnrolled` (its dispatch inside) in one `save_all`, its
`StepAttempted` in a second and its `StepSent` in a third, with the hash chain. No events are read
back, no read model is written, no message is built. The CPU of this process and of every
PostgreSQL process comes from /proc; the ceiling is the machine's cores divided by the CPU a send's
writes take, a rate the service cannot pass whatever else it does. The same is measured without the
attempt's write and event (two writes: what any design that records the attempt outside the
contact's stream would still write), as an upper bound of such a redesign.

    .venv/bin/python -m benchmarks.write_ceiling [--sends 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from benchmarks.profile_stages import cpu_seconds, postgres_cpu, postgres_postmaster
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.replaced_design import replaced_design_seconds
from commands.application import CampaignApplication
from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.steps import Step
from storage.database import event_store_env
from storage.schema import upgrade

BATCH = 500
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def campaign() -> Campaign:
    step = {
        "type": "EMAIL",
        "group": 0,
        "order": 0,
        "id": "s1",
        "subject": "Hi {{first_name}}",
        "body": "Hello",
    }
    created = Campaign.create(uuid4(), uuid4(), "Write ceiling", [Step.from_dict(step)], NOW)
    created.launch(NOW, 1)
    return created


def write_sends(store: CampaignApplication, sends: int, attempt_event: bool) -> None:
    """The three writes of a one-step email per batch (two without the attempt's)."""
    sent = campaign()
    for start in range(0, sends, BATCH):
        batch = []
        for n in range(start, min(start + BATCH, sends)):
            address = {"email": f"contact{n}@example.com"}
            enrolled = Enrollment.enroll(
                sent.id, sent.brand_id, uuid4(), address, sent.steps, NOW, dispatch=True
            )
            assert enrolled is not None
            batch.append(enrolled)
        store.save_all(batch)
        for enrollment in batch:
            enrollment.attempt("s1", "sender-1", NOW)
        if attempt_event:
            store.save_all(batch)
        for enrollment in batch:
            enrollment.record_sent("s1", f"provider-{enrollment.id}", 1, NOW)
        if attempt_event:
            store.save_all(batch)
        else:
            _save_without_attempts(store, batch)


def _save_without_attempts(store: CampaignApplication, batch: list[Enrollment]) -> None:
    kept = [
        event
        for enrollment in batch
        for event in enrollment.collect_events()
        if not isinstance(event, Enrollment.StepAttempted)
    ]
    store.events.put(kept)  # the what-if writes events no aggregate would give


def measure(infra: Infrastructure, work: Callable[[str], None]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process and PostgreSQL) of `work` on a fresh database."""
    url = infra.fresh_database()
    try:
        postmaster = postgres_postmaster(infra)
        own0, pg0 = cpu_seconds(os.getpid()), sum(postgres_cpu(postmaster).values())
        started = time.perf_counter()
        work(url)
        wall = time.perf_counter() - started
        own1, pg1 = cpu_seconds(os.getpid()), sum(postgres_cpu(postmaster).values())
        return wall, (own1 - own0) + (pg1 - pg0)
    finally:
        infra.drop_database(url)


def writes(sends: int, attempt_event: bool) -> Callable[[str], None]:
    def work(url: str) -> None:
        upgrade(url)
        store = CampaignApplication(env=event_store_env(url))
        try:
            write_sends(store, sends, attempt_event)
        finally:
            store.close()

    return work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n, cores = args.sends, os.cpu_count() or 1
    anchors: list[float] = []
    cpu: dict[str, list[float]] = {"3 events, 3 writes (today)": [], "2 events, 2 writes (no attempt)": []}
    with Infrastructure() as infra:
        for run in range(args.repeat):
            print(f"  run {run + 1}/{args.repeat}", flush=True)
            url = infra.fresh_database()
            try:
                anchors.append(n / replaced_design_seconds(url, n))
            finally:
                infra.drop_database(url)
            for label, attempt_event in zip(cpu, (True, False), strict=True):
                _, seconds = measure(infra, writes(n, attempt_event))
                cpu[label].append(seconds / n)
    rate = statistics.median(anchors)
    print(f"\n{n:,} one-step emails, {args.repeat} runs, {cores} cores; medians (range)")
    print(f"{'measure':<34}{'CPU ms/send':>22}{'ceiling sends/s':>20}{'x anchor':>10}")
    print(
        f"{'anchor: the replaced design':<34}{'':>22}{rate:>20,.0f}{1.0:>10.2f}  ({min(anchors):,.0f}-{max(anchors):,.0f})"
    )
    print(f"{'target: twice the anchor':<34}{1000 * cores / (2 * rate):>22.3f}{2 * rate:>20,.0f}{2.0:>10.2f}")
    for label, values in cpu.items():
        ms = 1000 * statistics.median(values)
        spread = f"{1000 * min(values):.3f}-{1000 * max(values):.3f}"
        ceiling = cores * 1000 / ms
        print(f"{label:<34}{ms:>10.3f} ({spread}){ceiling:>20,.0f}{ceiling / rate:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
