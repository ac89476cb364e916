"""Prometheus metrics of a process: what it counted itself, and what the database says.

Counted by the process: sends by outcome, provider call times and the send lag
(consumers/send_metrics.py), HTTP request times (api/request_observation.py). Read from the database
at each scrape, so that every role reports them alike and a restart loses nothing: how far each log
follower (relays, read models, settlement) is behind the event store's head, its parked items, the
credits granted, reserved, consumed and released so far, campaigns by status.

`serve` runs channel workers and the projector as child processes: it sets PROMETHEUS_MULTIPROC_DIR
to a folder of its own under `<data_dir>/metrics` before anything is counted, the children inherit it, and
its /metrics adds up every process's counts (prometheus_client's multiprocess mode). A role started
alone counts in its own memory. Every role also serves /metrics on METRICS_PORT when it is set.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from consumers import relay
from projections import campaign_summaries, credit_ledger_entries, runner
from storage import parked
from storage.database import Database

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
RETIRED_RELAY = relay.RETIRED_RELAY
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def count_across_processes(data_dir: Path) -> None:
    """Make this process and the children it starts count into `<data_dir>/metrics/serve-<pid>`
    (the folders of serves no longer running removed); must run before the first metric is made,
    so before the roles are imported."""
    if os.environ.get(MULTIPROCESS_DIR):
        return
    folders = data_dir.resolve() / "metrics"
    for earlier in folders.glob("serve-*"):  # a serve that ended; another one still running keeps its own
        if not _running(int(earlier.name.removeprefix("serve-") or 0)):
            shutil.rmtree(earlier, ignore_errors=True)
    folder = folders / f"serve-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_DIR] = str(folder)
    counting = ("consumers.send_metrics", "consumers.deliverability_guard", "api.request_observation")
    made = [name for name in counting if name in sys.modules]
    if made:
        raise RuntimeError(f"metrics were made before their folder was set: {', '.join(made)}")
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # chosen when prometheus_client was imported


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


class DatabaseFigures(Collector):
    """The families read from the database at each scrape; none when the database does not answer."""

    def __init__(self, db: Database, head: Callable[[], int]) -> None:
        self.db, self.head = db, head

    def collect(self) -> Iterator[Metric]:
        try:
            head = self.head()
            followers = relay.positions(self.db)  # relay:email, ... or relay:sends and relay:feed
            followers.pop(RETIRED_RELAY, None)
            followers.update({f"projection:{n}": p for n, p in runner.positions(self.db).items()})
            settled = self.db.fetch_one("SELECT position FROM settlement_position")  # commands/credits
            followers["settlement"] = settled["position"] if settled else 0
            parked_items = parked.counts(self.db)
            credits = credit_ledger_entries.totals(self.db)
            campaigns = campaign_summaries.counts_by_status(self.db)
        except Exception as failure:  # a scrape answers anyway, with what the process counted
            log.warning("metrics: the database did not answer: %s", failure)
            return
        yield _gauge("event_store_position", "Notification id of the last event stored", [], [([], head)])
        yield _gauge(
            "follower_position",
            "Last event store position a log follower has handled",
            ["follower"],
            [([name], position) for name, position in sorted(followers.items())],
        )
        yield _gauge(
            "follower_lag_events",
            "Events stored that a log follower has not handled yet",
            ["follower"],
            [([name], max(head - position, 0)) for name, position in sorted(followers.items())],
        )
        yield _gauge(
            "parked_items",
            "Items a log follower or periodic job set aside after repeated failures",
            ["follower"],
            [([name], parked_items.get(name, 0)) for name in sorted({*followers, *parked_items})],
        )
        total = CounterMetricFamily(
            "campaign_service_credits",
            "Credits granted, reserved, consumed and released so far (from the credit ledger)",
            labels=["kind"],
        )
        for kind, amount in credits.items():
            total.add_metric([kind], amount)
        yield total
        yield _gauge(
            "campaigns",
            "Campaigns by status",
            ["status"],
            [([status], n) for status, n in sorted(campaigns.items())],
        )


def _gauge(
    name: str, documentation: str, labels: list[str], samples: list[tuple[list[str], float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"campaign_service_{name}", documentation, labels=labels)
    for label_values, value in samples:
        family.add_metric(label_values, value)
    return family


class _ThisProcess(Collector):
    """What this process counted (its default registry: the families of the roles it runs)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry_for(db: Database, head: Callable[[], int]) -> CollectorRegistry:
    """Everything this process shows on /metrics: its counts (every process's, under serve) and
    the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(MULTIPROCESS_DIR)
    if folder:
        MultiProcessCollector(registry, folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseFigures(db, head))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def serve_metrics(
    host: str, port: int, registry: CollectorRegistry, ready: Callable[[], dict[str, bool]]
) -> ThreadingHTTPServer:
    """/metrics and /healthz on `port` (METRICS_PORT), from a thread of its own: a role with no API
    is scraped and health-checked there (/healthz answers 503 while a readiness check fails)."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE, exposition(registry))
            elif path == "/healthz":
                checks = ready()
                body = json.dumps({"ready": all(checks.values()), "checks": checks}).encode()
                self._answer(200 if all(checks.values()) else 503, "application/json", body)
            else:
                self._answer(404, "text/plain", b"not found: /metrics or /healthz\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
            pass

    server = ThreadingHTTPServer((host, port), Answer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    log.info("metrics and health served on port %d", server.server_address[1])
    return server
