"""Scenario `sends`: launch to all sent for N contacts of a one-step EMAIL campaign (sandbox
provider), read from the API's metrics, in two shapes of the service: `campaign-service serve` as a
user starts it (HTTP API, in-process transport) and Kafka mode (API, relay, projector, scheduler and
two email workers, each a process). Anchors in the same run: the replaced design's three statements
per send from 8 connections, and kafka-python alone moving N messages; also the peak memory of
`serve`. Each repetition uses fresh databases and alternates the order of service and anchors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient, wait_until
from benchmarks.suite.infrastructure import Infrastructure, NotMeasured
from benchmarks.suite.kafka_alone import kafka_alone_seconds
from benchmarks.suite.replaced_design import CONNECTIONS, replaced_design_seconds
from benchmarks.suite.results import Results
from benchmarks.suite.service_processes import Processes, create_brand, start_roles, start_serve

EMBEDDED = "serve (HTTP API, in-process transport)"
KAFKA = "Kafka mode: roles as processes, 2 email workers"
REPLACED = f"anchor: replaced design, 3 statements/send, {CONNECTIONS} connections"
KAFKA_ALONE = "anchor: kafka-python alone, produce + consume"
MEMORY = "serve peak memory (VmHWM, with its channel processes)"
PREMIUM_CREDITS = 100_000


def time_limit(n: int) -> float:
    return 60 + n / 100  # gives up below about 100 sends/s


def launch_to_all_sent(base_url: str, database_url: str, folder: Path, n: int) -> float:
    """Brand, sender, N contacts and a campaign set up untimed; then seconds from launch to all sent."""
    if n > PREMIUM_CREDITS:
        raise NotMeasured(f"a premium brand holds {PREMIUM_CREDITS:,} credits, fewer than {n:,} sends")
    client = BrandClient(base_url, create_brand(database_url, "premium", folder))
    try:
        client.email_sender(daily_limit=n)
        campaign = client.campaign(client.lead_group(n), [EMAIL_STEP])
        started = time.perf_counter()
        client.launch(campaign)
        wait_until(lambda: client.metrics(campaign)["sent"]["email"] >= n, time_limit(n), f"{n:,} sent")
        return time.perf_counter() - started
    finally:
        client.close()


def serve_sends(infra: Infrastructure, url: str, n: int, **env: str) -> tuple[float, float]:
    """`serve` started on the database at `url` (with `env`, as start_serve takes it), then N
    sends timed (launch_to_all_sent): the sends per second, and serve's peak memory in MB."""
    with Processes(infra.folder / f"serve-{uuid4().hex[:6]}") as processes:
        serve, base_url = start_serve(processes, url, **env)
        seconds = launch_to_all_sent(base_url, url, processes.folder, n)
        return n / seconds, serve.peak_rss_mb()


def embedded(infra: Infrastructure, results: Results, scenario: str, n: int) -> None:
    url = infra.fresh_database()
    try:
        rate, peak = serve_sends(infra, url, n)
        results.add(scenario, EMBEDDED, "sends/s", rate, REPLACED)
        results.add(scenario, MEMORY, "MB", peak)
    finally:
        infra.drop_database(url)


def kafka_mode(infra: Infrastructure, results: Results, scenario: str, n: int) -> None:
    bootstrap = infra.kafka()
    url = infra.fresh_database()
    try:
        with Processes(infra.folder / f"roles-{uuid4().hex[:6]}") as processes:
            base_url = start_roles(processes, url, bootstrap, prefix=f"bench{uuid4().hex[:6]}.")
            seconds = launch_to_all_sent(base_url, url, processes.folder, n)
            results.add(scenario, KAFKA, "sends/s", n / seconds, REPLACED)
    finally:
        infra.drop_database(url)


def replaced(infra: Infrastructure, results: Results, scenario: str, n: int) -> None:
    url = infra.fresh_database()
    try:
        results.add(scenario, REPLACED, "sends/s", n / replaced_design_seconds(url, n))
    finally:
        infra.drop_database(url)


def kafka_alone(infra: Infrastructure, results: Results, scenario: str, n: int) -> None:
    results.add(scenario, KAFKA_ALONE, "msgs/s", n / kafka_alone_seconds(infra.kafka(), n, time_limit(n)))


def run(infra: Infrastructure, results: Results, sizes: list[int], repeat: int) -> None:
    for n in sizes:
        scenario = f"sends {n:,}"
        steps: list[tuple[str, str, Callable[[Infrastructure, Results, str, int], None]]] = [
            (EMBEDDED, "sends/s", embedded),
            (REPLACED, "sends/s", replaced),
            (KAFKA, "sends/s", kafka_mode),
            (KAFKA_ALONE, "msgs/s", kafka_alone),
        ]
        for measure, unit, _ in steps:  # the table's order: each service figure, then its anchor
            results.figure(scenario, measure, unit, None if measure.startswith("anchor") else REPLACED)
        results.figure(scenario, MEMORY, "MB")
        for repetition in range(repeat):
            for measure, unit, step in steps if repetition % 2 == 0 else steps[::-1]:
                print(f"  {scenario}, run {repetition + 1}/{repeat}: {measure}", flush=True)
                try:
                    step(infra, results, scenario, n)
                except NotMeasured as reason:
                    results.fail(scenario, measure, unit, str(reason))
                    if step is embedded:
                        results.fail(scenario, MEMORY, "MB", str(reason))
