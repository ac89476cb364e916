"""Benchmark: how long the console's pages take to render for a large campaign.

Starts an embedded PostgreSQL in a temporary folder (loopback only), makes a brand (with its API
key) and one launched campaign of N contacts (default 100,000) whose enrollments are written as
the service writes them (each: enrolled, its EMAIL and SMS steps dispatched, attempted and sent;
copies of one enrollment's events, with benchmarks/history_seed.py's COPY), rebuilds the read models
(`campaign-service replay`), then signs in to the console and times each page, `--repeat` times,
through the app in this process (FastAPI's test client, no network): the campaign list, the
campaign now, the campaign as of a moment after every send (its funnel and StepExecutions rebuilt
from all its events), as of its launch, the credits page (which runs the full credit audit) and
the health page. Prints a table of the median and slowest time of each, a row as each is measured.

    .venv/bin/python -m benchmarks.console_render [--contacts 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import psycopg


def seed(url: str, contacts: int) -> tuple[str, str, datetime]:
    """A brand with a launched campaign of `contacts` enrollments; (api key, campaign id, launch time)."""
    from benchmarks.history_seed import STEPS, _copy_enrollments, _template
    from commands.application import CampaignApplication
    from commands.credits.brands import create_brand
    from domain.campaign import Campaign
    from domain.credit_ledger import Plan
    from domain.steps import Step
    from storage.database import Database, event_store_env
    from storage.schema import upgrade

    upgrade(url)
    store = CampaignApplication(env=event_store_env(url))
    db = Database(url)
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    brand = create_brand(store, db, "bench console", Plan.PREMIUM, now)
    ledger = store.ledger(brand.brand_id)
    ledger.grant(4 * contacts, "benchmark top-up", now)
    campaign = Campaign.create(
        uuid4(), brand.brand_id, "bench console", [Step.from_dict(s) for s in STEPS], now
    )
    campaign.launch(now, 2 * contacts)
    ledger.reserve(campaign.id, 2 * contacts, now)
    store.save(ledger, campaign)
    with psycopg.connect(url) as conn:
        _copy_enrollments(conn, campaign.id, _template(store, campaign, brand.brand_id, now), contacts)
        conn.execute("ANALYZE campaigns_events")
    db.close()
    store.close()
    return brand.api_key, str(campaign.id), now


def timed(get: object, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and slowest seconds of `repeat` GETs of `path`, and the page's size in bytes."""
    took, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        answer = get(path)  # type: ignore[operator]
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        size = len(answer.content)
    return statistics.median(took), max(took), size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from runtime.embedded_postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", durable=False)
        url = server.start()
        try:
            started = time.perf_counter()
            api_key, campaign_id, launched = seed(url, args.contacts)
            seeded = time.perf_counter() - started
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "runtime.cli", "replay"],
                env={**os.environ, "DATABASE_URL": url},
                check=True,
                stdout=subprocess.DEVNULL,
            )
            replayed = time.perf_counter() - started
            with psycopg.connect(url, autocommit=True) as conn:
                events = conn.execute("SELECT count(*) FROM campaigns_events").fetchone()[0]  # type: ignore[index]
                conn.execute(
                    """INSERT INTO launch_audiences (campaign_id, contact_id)
                       SELECT campaign_id, contact_id FROM campaign_leads"""
                )
            print(f"median and slowest of {args.repeat} renders\n", flush=True)
            print("| page | median | slowest | HTML |")
            print("| --- | ---: | ---: | ---: |", flush=True)
            rows = measure(url, api_key, campaign_id, launched, args.repeat)
        finally:
            server.stop()
    del rows  # printed as measured
    print(
        f"\n({args.contacts:,} contacts, {events:,} stored events; seeded in {seeded:.1f}s, read models rebuilt in {replayed:.1f}s)"
    )
    return 0


def measure(
    url: str, api_key: str, campaign_id: str, launched: datetime, repeat: int
) -> dict[str, tuple[float, float, int]]:
    from fastapi.testclient import TestClient

    from runtime.service import build_service
    from runtime.settings import Settings

    container = build_service(Settings(database_url=url))
    try:
        browser = TestClient(container.http_app())
        form = browser.get("/console/sign-in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        browser.post("/console/sign-in", data={"api_key": api_key, "csrf_token": token})
        after = (launched + timedelta(days=1)).isoformat().replace("+00:00", "Z")
        at_launch = launched.isoformat().replace("+00:00", "Z")
        page = f"/console/campaigns/{campaign_id}"
        pages = {
            "campaign list `/console/`": "/console/",
            "campaign now": page,
            "health": "/console/health",
            "credits (ledger and line)": "/console/credits",
            "campaign as of its launch": f"{page}?as_of={at_launch}",
            "campaign as of after every send": f"{page}?as_of={after}",
            "credits, with the audit run": "/console/credits?audit=now",
        }
        measured = {}
        for name, path in pages.items():
            median, slowest, size = measured[name] = timed(browser.get, path, repeat)
            print(f"| {name} | {median:.3f} s | {slowest:.3f} s | {size / 1024:,.0f} KiB |", flush=True)
        return measured
    finally:
        container.close()


if __name__ == "__main__":
    sys.exit(main())
