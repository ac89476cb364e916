"""Scenario `launch`: a campaign to N contacts launched on `serve`, timed until the API's metrics
show all N enrolled. Its sending window opens on another weekday, so the sends do not compete with
the enrolment for the CPU. Anchor: PostgreSQL's own COPY of N enrollment-sized rows into a table."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg

from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient, wait_until
from benchmarks.suite.infrastructure import Infrastructure, NotMeasured
from benchmarks.suite.results import Results
from benchmarks.suite.service_processes import Processes, create_brand, start_serve

SERVICE = "launch -> all enrolled, serve"
ANCHOR = "anchor: one COPY of as many rows"


def window_on_another_day() -> dict[str, object]:
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%a").lower()
    return {"days": [day], "start": "00:00", "end": "24:00"}


def service_seconds(infra: Infrastructure, n: int) -> float:
    url = infra.fresh_database()
    try:
        with Processes(infra.folder / f"launch-{uuid4().hex[:6]}") as processes:
            _, base_url = start_serve(processes, url)
            client = BrandClient(base_url, create_brand(url, "premium", processes.folder))
            try:
                client.email_sender(daily_limit=n)
                group = client.lead_group(n)
                campaign = client.campaign(
                    group, [EMAIL_STEP], timezone="UTC", sending_window=window_on_another_day()
                )
                started = time.perf_counter()
                client.launch(campaign)
                wait_until(lambda: client.metrics(campaign)["enrolled"] >= n, 60 + n / 200, f"{n:,} enrolled")
                return time.perf_counter() - started
            finally:
                client.close()
    finally:
        infra.drop_database(url)


def copy_seconds(infra: Infrastructure, n: int) -> float:
    campaign, now = uuid4(), datetime.now(UTC).isoformat()
    rows = "".join(f"{uuid4()}\t{campaign}\t{uuid4()}\tACTIVE\t0\t{now}\n" for _ in range(n)).encode()
    url = infra.fresh_database()
    try:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE bench_enrollments (id uuid PRIMARY KEY, campaign_id uuid, contact_id uuid,"
                " state text, current_group int, enrolled_at timestamptz)"
            )
            conn.commit()
            started = time.perf_counter()
            with cur.copy("COPY bench_enrollments FROM STDIN") as copy:
                copy.write(rows)
            conn.commit()
            return time.perf_counter() - started
    finally:
        infra.drop_database(url)


def run(infra: Infrastructure, results: Results, contacts: int, repeat: int) -> None:
    scenario = f"launch {contacts:,}"
    results.figure(scenario, SERVICE, "contacts/s", ANCHOR)
    results.figure(scenario, ANCHOR, "rows/s")
    steps = [(SERVICE, service_seconds), (ANCHOR, copy_seconds)]
    for repetition in range(repeat):
        for measure, step in steps if repetition % 2 == 0 else steps[::-1]:
            print(f"  {scenario}, run {repetition + 1}/{repeat}: {measure}", flush=True)
            unit = "rows/s" if step is copy_seconds else "contacts/s"
            try:
                results.add(scenario, measure, unit, contacts / step(infra, contacts))
            except NotMeasured as reason:
                results.fail(scenario, measure, unit, str(reason))
