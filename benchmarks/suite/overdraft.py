"""Scenario `overdraft`: 50 launches sent at once, on `serve`, for 50 campaigns of one brand whose
balance covers only 10 of them (basic plan, 1,000 credits; each campaign one EMAIL step to the same
100 contacts). Measured: seconds until all 50 are answered, launches accepted, and the overdraft
(credits reserved beyond the balance, from the API's own credit figures), which must be zero."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import httpx

from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient
from benchmarks.suite.infrastructure import Infrastructure, NotMeasured
from benchmarks.suite.results import Results
from benchmarks.suite.service_processes import Processes, create_brand, start_serve

LAUNCHES, CONTACTS, BALANCE = 50, 100, 1_000  # the basic plan's credits: 10 launches of 100
SCENARIO = f"{LAUNCHES} concurrent launches, balance for {BALANCE // CONTACTS}"


def concurrent_launches(base_url: str, key: str, campaigns: list[str]) -> tuple[float, list[int]]:
    """Every launch POSTed at once (threads behind a barrier); seconds until the last answer."""
    statuses: list[int] = []
    barrier = threading.Barrier(len(campaigns) + 1)
    limits = httpx.Limits(max_connections=len(campaigns))
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120, limits=limits
    ) as http:

        def launch(campaign: str) -> None:
            barrier.wait()
            try:
                statuses.append(http.post(f"/v1/campaign/{campaign}/launch").status_code)
            except httpx.HTTPError:
                statuses.append(0)

        threads = [threading.Thread(target=launch, args=(c,), daemon=True) for c in campaigns]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join(150)
        return time.perf_counter() - started, statuses


def one_run(infra: Infrastructure, results: Results) -> None:
    url = infra.fresh_database()
    try:
        with Processes(infra.folder / f"overdraft-{uuid4().hex[:6]}") as processes:
            _, base_url = start_serve(processes, url)
            key = create_brand(url, "basic", processes.folder)
            client = BrandClient(base_url, key)
            try:
                client.email_sender(daily_limit=10 * BALANCE)
                group = client.lead_group(CONTACTS)
                campaigns = [client.campaign(group, [EMAIL_STEP]) for _ in range(LAUNCHES)]
                seconds, statuses = concurrent_launches(base_url, key, campaigns)
                if len(statuses) < LAUNCHES or set(statuses) - {200, 402}:
                    raise NotMeasured(f"launch answers other than 200 or 402: {sorted(statuses)}")
                reserved = sum(
                    client.call("GET", f"/v1/campaign/{c}")["credits"]["reserved"] for c in campaigns
                )
                balance = client.call("GET", "/v1/credits")["balance"]
            finally:
                client.close()
        results.add(SCENARIO, "time until all answered", "s", seconds)
        results.add(SCENARIO, "launches accepted", "launches", statuses.count(200))
        results.add(
            SCENARIO, "overdraft (reserved beyond the balance)", "credits", max(0, reserved - BALANCE)
        )
        results.add(SCENARIO, "balance after (API)", "credits", balance)
    finally:
        infra.drop_database(url)


def run(infra: Infrastructure, results: Results, repeat: int) -> None:
    for repetition in range(repeat):
        print(f"  {SCENARIO}, run {repetition + 1}/{repeat}", flush=True)
        try:
            one_run(infra, results)
        except NotMeasured as reason:
            results.fail(SCENARIO, "time until all answered", "s", str(reason))
