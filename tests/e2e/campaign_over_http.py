"""A campaign run to COMPLETED through a running service's HTTP API, and its /metrics read back as
Prometheus's own parser reads them: what the metrics and compose tests share."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import contacts, eventually

# Email and SMS to every contact: sends on two channels, through two child processes under serve.
STEPS = [
    {
        "type": "EMAIL",
        "group": 0,
        "subject": "Hi {{first_name|there}}",
        "body": "Hello from the metrics test",
    },
    {"type": "SMS", "group": 0, "body": "Hello by text"},
]


def run_campaign(http: httpx.Client, leads: int = 4, timeout: float = 90) -> dict[str, Any]:
    """Creates what a campaign needs, launches it and waits until it is COMPLETED; its detail."""
    anytime = {"allowed_from": "00:00", "allowed_until": "24:00"}  # texts at any hour of the test
    assert http.put("/v1/messaging-settings", json=anytime).status_code == 200
    group = http.post("/v1/lead-groups", json={"name": "leads"}).json()["id"]
    added = http.post(f"/v1/lead-groups/{group}/contacts", json={"contacts": contacts(leads)})
    assert added.status_code == 200, added.text
    for channel, address in (("email", "sales@brand.example"), ("sms", "+14155550000")):
        account = {"channel": channel, "provider": "sandbox", "address": address, "daily_limit": 1000}
        assert http.post("/v1/sender-accounts", json=account).status_code == 201
    created = http.post("/v1/campaign/", json={"name": "metrics", "lead_group_ids": [group], "steps": STEPS})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    launched = http.post(f"/v1/campaign/{campaign_id}/launch")
    assert launched.status_code == 200, launched.text

    def completed() -> dict[str, Any] | None:
        detail = http.get(f"/v1/campaign/{campaign_id}").json()
        done = detail["status"] == "COMPLETED" and detail["credits"]["outstanding"] == 0
        return detail if done else None

    return eventually(completed, timeout=timeout, interval=0.2)


def scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """The families at `url`, by name, each a list of (sample name, labels, value)."""
    text = httpx.get(url, timeout=10).text
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def documented_families(url: str) -> set[tuple[str, str]]:
    """(name, type) of every family with its # HELP and # TYPE lines (a counter's name without the
    `_total` the text format gives it)."""
    lines = httpx.get(url, timeout=10).text.splitlines()
    helped = {line.split()[2] for line in lines if line.startswith("# HELP ")}
    typed = [line.split()[2:4] for line in lines if line.startswith("# TYPE ")]
    return {(name.removesuffix("_total"), kind) for name, kind in typed if name in helped}


def value(families: dict[str, list[tuple[str, dict[str, str], float]]], sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels`."""
    family = sample.removesuffix("_total").removesuffix("_count").removesuffix("_sum").removesuffix("_bucket")
    return sum(
        v
        for name, found, v in families.get(family, [])
        if name == sample and all(found.get(k) == want for k, want in labels.items())
    )
