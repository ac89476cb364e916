"""The port a role without an API is scraped and health-checked on (METRICS_PORT): /metrics in
Prometheus' text format, /healthz 200 with its checks while all pass and 503 naming the one that
fails, a query string ignored, anything else a 404 that says what there is."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from runtime.metrics import CONTENT_TYPE, serve_metrics


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, bool]]]:
    registry = CollectorRegistry(auto_describe=False)
    Counter("campaign_service_sends", "Sends", registry=registry).inc(3)
    checks = {"database": True, "transport": True, "background": True}
    server = serve_metrics("127.0.0.1", 0, registry, lambda: dict(checks))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", checks
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"], refused.read()


def test_metrics_are_served_in_prometheus_text_format(served) -> None:
    base, _ = served
    status, content_type, body = _get(f"{base}/metrics?name[]=x")
    assert (status, content_type) == (200, CONTENT_TYPE)
    assert b"campaign_service_sends_total 3.0\n" in body


def test_health_is_ready_while_every_check_passes_and_names_the_one_that_fails(served) -> None:
    base, checks = served
    status, content_type, body = _get(f"{base}/healthz")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"ready": True, "checks": checks}
    checks["database"] = False
    status, _, body = _get(f"{base}/healthz")
    assert status == 503
    assert json.loads(body) == {"ready": False, "checks": {**checks, "database": False}}


def test_any_other_path_is_a_404_that_says_what_is_served(served) -> None:
    base, _ = served
    status, content_type, body = _get(f"{base}/metric")
    assert (status, content_type, body) == (404, "text/plain", b"not found: /metrics or /healthz\n")
