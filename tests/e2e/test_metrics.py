"""/metrics as an SRE scrapes it: Prometheus text with # HELP and # TYPE for every family of the
contract, after a campaign has run, with samples that add up; under `serve` one endpoint (the API's,
and METRICS_PORT's) shows what its child processes counted too; no label names a tenant. The
shipped scrape config and dashboard ask only for families that exist."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from runtime.embedded_postgres import free_port
from tests.e2e.campaign_over_http import documented_families, run_campaign, scrape, value
from tests.support import eventually, production_settings

CLI = [sys.executable, "-m", "runtime.cli"]
ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {
    ("campaign_service_sends", "counter"),
    ("campaign_service_provider_call_seconds", "histogram"),
    ("campaign_service_send_lag_seconds", "histogram"),
    ("campaign_service_follower_lag_events", "gauge"),
    ("campaign_service_parked_items", "gauge"),
    ("campaign_service_credits", "counter"),
    ("campaign_service_http_request_seconds", "histogram"),
}
TENANT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|@|\+\d{6,}")


@pytest.mark.timeout(180)
def test_serve_shows_every_family_with_its_children_counts_after_a_campaign(database_url, tmp_path):
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(DATABASE_URL=database_url, METRICS_PORT=str(metrics_port), LOG_LEVEL="WARNING")
    env.update(production_settings(f"http://127.0.0.1:{port}"), DATA_DIR=str(tmp_path / "data"))
    created = subprocess.run(
        [*CLI, "brand", "create", "Acme", "--plan", "basic"], env=env, capture_output=True, check=True
    )
    key = json.loads(created.stdout)["api_key"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"})
    try:

        def up() -> bool:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                return http.get("/readyz").status_code == 200
            except httpx.TransportError:
                return False

        eventually(up, timeout=60)
        detail = run_campaign(http, leads=4)
        for url in (f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"):
            assert documented_families(url) >= FAMILIES
            # the channels' sends were counted in serve's child processes, one per channel
            families = eventually(
                lambda url=url: (
                    (f := scrape(url))
                    and value(f, "campaign_service_sends_total", channel="sms", outcome="sent") == 4
                    and f
                )
            )
            assert value(families, "campaign_service_sends_total", channel="email", outcome="sent") == 4
            for channel in ("email", "sms"):
                assert (
                    value(
                        families,
                        "campaign_service_provider_call_seconds_count",
                        channel=channel,
                        provider="sandbox",
                    )
                    >= 1
                )
                assert value(families, "campaign_service_send_lag_seconds_count", channel=channel) == 4
                assert 0 <= value(families, "campaign_service_send_lag_seconds_sum", channel=channel) < 60 * 4
            followers = {
                labels["follower"] for _, labels, _ in families["campaign_service_follower_lag_events"]
            }
            assert {"relay:email", "relay:sms", "projection:campaign_summaries", "settlement"} <= followers
            assert all(v >= 0 for _, _, v in families["campaign_service_follower_lag_events"])
            assert {
                labels["follower"] for _, labels, _ in families["campaign_service_parked_items"]
            } >= followers
            credits = detail["credits"]
            assert value(families, "campaign_service_credits_total", kind="reserved") == credits["reserved"]
            assert (
                value(families, "campaign_service_credits_total", kind="consumed") == credits["consumed"] == 8
            )
            assert value(families, "campaign_service_credits_total", kind="granted") >= 1000
            launch = "/v1/campaign/{campaign_id}/launch"
            assert (
                value(
                    families,
                    "campaign_service_http_request_seconds_count",
                    method="POST",
                    route=launch,
                    status="200",
                )
                == 1
            )
            labels = {v for samples in families.values() for _, found, _ in samples for v in found.values()}
            assert not {v for v in labels if TENANT.search(v)}, "a label names a tenant"
        health = httpx.get(f"http://127.0.0.1:{metrics_port}/healthz")
        assert health.status_code == 200 and health.json()["ready"] is True
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0


def queried_metrics(expression: str) -> set[str]:
    names = set(re.findall(r"\b(campaign_service_[a-z_]+)", expression))
    return {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in names}


def test_the_scrape_config_and_the_dashboard_ask_for_families_that_exist():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]
    }
    roles = {
        name
        for name, service in compose["services"].items()
        if "METRICS_PORT" in service.get("environment", {}) and service.get("restart") != "no"
    }
    assert {t.split(":")[0] for t in targets} == roles and roles
    for name in roles:
        port = compose["services"][name]["environment"]["METRICS_PORT"]
        assert f"{name}:{port}" in targets

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("outcome", "lag", "provider", "follower", "parked"):
        assert topic in titles
    asked = set().union(*(queried_metrics(e) for e in expressions))
    assert asked and asked <= {name for name, _ in FAMILIES} | {"campaign_service_follower_position"}
