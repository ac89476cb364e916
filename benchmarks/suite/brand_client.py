"""A brand's HTTP client against a running service, doing what a user does before a measurement:
a sandbox sender account, a lead group filled from one CSV upload, a campaign, its launch, and
reading its metrics; `wait_until` polls them with a time limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks.suite.infrastructure import NotMeasured

EMAIL_STEP = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name}}", "body": "Hello"}


def contacts_csv(n: int, start: int = 0) -> bytes:
    rows = "".join(f"lead{i}@example.com,L{i}\n" for i in range(start, start + n))
    return ("email,first_name\n" + rows).encode()


class BrandClient:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=600
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code != expected:
            raise NotMeasured(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def email_sender(self, daily_limit: int) -> None:
        body = {
            "channel": "email",
            "provider": "sandbox",
            "address": "sales@brand.example",
            "daily_limit": min(daily_limit, 100_000),
        }
        self.call("POST", "/v1/sender-accounts", 201, json=body)

    def lead_group(self, contacts: int) -> str:
        group: str = self.call("POST", "/v1/lead-groups", 201, json={"name": "bench"})["id"]
        self.call(
            "POST",
            f"/v1/lead-groups/{group}/contacts",
            content=contacts_csv(contacts),
            headers={"Content-Type": "text/csv"},
        )
        return group

    def campaign(self, group: str, steps: list[dict[str, Any]], **extra: Any) -> str:
        body = {"name": "bench", "lead_group_ids": [group], "steps": steps, **extra}
        campaign: str = self.call("POST", "/v1/campaign/", 201, json=body)["id"]
        return campaign

    def launch(self, campaign: str) -> None:
        self.call("POST", f"/v1/campaign/{campaign}/launch")

    def metrics(self, campaign: str) -> dict[str, Any]:
        metrics: dict[str, Any] = self.call("GET", f"/v1/campaign/{campaign}")["metrics"]
        return metrics


def wait_until(done: Callable[[], bool], limit: float, what: str, interval: float = 0.2) -> None:
    """Poll `done` until true; NotMeasured once `limit` seconds have passed."""
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise NotMeasured(f"{what} not reached within {limit:.0f} s")
        time.sleep(interval)
