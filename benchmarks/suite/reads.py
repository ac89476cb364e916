"""Scenario `reads`: GET /v1/campaign/{id} (a launched campaign) and GET /v1/campaign/ (a page of 50
of a brand's 60 campaigns) on `serve`, under an open-loop arrival rate: p50 and p99 at a fixed rate,
and the highest rate of a ladder whose p99 stays under 25 ms. Anchor: the same reads answered by a
bare Starlette route running the same SQL (benchmarks/suite/bare_reads.py), measured while the same
`serve` stays up, so both share the machine with its idle background roles."""

from __future__ import annotations

import sys
import time
from uuid import uuid4

import httpx

from benchmarks.suite import open_loop
from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient, wait_until
from benchmarks.suite.infrastructure import Infrastructure, NotMeasured
from benchmarks.suite.results import Results
from benchmarks.suite.service_processes import Processes, create_brand, service_env, start_serve
from runtime.embedded_postgres import free_ports

FIXED_RATE = 50.0
P99_TARGET_MS = 25.0
CAMPAIGNS = 60
SERVICE, ANCHOR = "serve", "anchor: bare Starlette, same SQL"


def prepare(client: BrandClient) -> str:
    """60 campaigns to one 10-contact group; one launched and sent; its id."""
    client.email_sender(daily_limit=1000)
    group = client.lead_group(10)
    campaigns = [client.campaign(group, [EMAIL_STEP]) for _ in range(CAMPAIGNS)]
    client.launch(campaigns[0])
    wait_until(lambda: client.metrics(campaigns[0])["sent"]["email"] >= 10, 120, "10 sent")
    return campaigns[0]


def start_anchor(processes: Processes, url: str) -> str:
    (port,) = free_ports(1)
    program = [sys.executable, "-m", "benchmarks.suite.bare_reads"]
    processes.start("bare-reads", [str(port)], service_env(url), program).wait_for_output("ready")
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base_url + "/v1/campaign/", timeout=1)
            return base_url
        except httpx.HTTPError as not_yet:
            if time.monotonic() > deadline:
                raise NotMeasured("the bare Starlette anchor did not answer") from not_yet
            time.sleep(0.1)


def measure(results: Results, who: str, base_url: str, key: str, paths: dict[str, str], quick: bool) -> None:
    rates = [10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0, 800.0]
    seconds = 2.0 if quick else 5.0
    headers = {"Authorization": f"Bearer {key}"}
    for scenario, path in paths.items():
        fixed = open_loop.at_rate(base_url, path, headers, FIXED_RATE, seconds)
        _, best = open_loop.ladder(base_url, path, headers, rates, seconds, P99_TARGET_MS)
        prefix = "" if who == SERVICE else f"{ANCHOR}: "
        for measure, unit, value in (
            (f"p50 at {FIXED_RATE:.0f} req/s", "ms", fixed.p50_ms),
            (f"p99 at {FIXED_RATE:.0f} req/s", "ms", fixed.p99_ms),
            (f"highest rate with p99 < {P99_TARGET_MS:.0f} ms", "req/s", best),
        ):
            anchor = None if who != SERVICE else f"{ANCHOR}: {measure}"
            results.add(scenario, f"{prefix}{measure}", unit, value, anchor)


def run(infra: Infrastructure, results: Results, repeat: int, quick: bool = False) -> None:
    for repetition in range(repeat):
        print(f"  reads, run {repetition + 1}/{repeat}", flush=True)
        url = infra.fresh_database()
        try:
            with Processes(infra.folder / f"reads-{uuid4().hex[:6]}") as processes:
                _, base_url = start_serve(processes, url)
                key = create_brand(url, "premium", processes.folder)
                client = BrandClient(base_url, key)
                campaign = prepare(client)
                client.close()
                paths = {
                    "reads GET /v1/campaign/{id}": f"/v1/campaign/{campaign}",
                    "reads GET /v1/campaign/": "/v1/campaign/",
                }
                targets = [(SERVICE, base_url), (ANCHOR, start_anchor(processes, url))]
                for who, target in targets if repetition % 2 == 0 else targets[::-1]:
                    measure(results, who, target, key, paths, quick)
        except NotMeasured as reason:
            for scenario in ("reads GET /v1/campaign/{id}", "reads GET /v1/campaign/"):
                results.fail(scenario, "all reads", "-", str(reason))
        finally:
            infra.drop_database(url)
