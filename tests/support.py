"""Test helpers that drive the service the way a client does: over its HTTP API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID, uuid4

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from commands.credits.brands import create_brand
from commands.sending.messaging_settings import change_messaging_settings
from commands.sending.providers import Provider
from domain.credit_ledger import Plan
from domain.enrollment import Enrollment, dispatched_steps
from runtime.roles import IN_PROCESS
from runtime.service import Service, build_service
from runtime.settings import Settings
from storage.database import Database

T = TypeVar("T")
# Rates no test reaches unless it is about them (tests/api/test_rate_limits.py sets its own).
UNLIMITED: dict[str, Any] = {
    f"rate_limit_{plan}_{part}": 1_000_000
    for plan in ("basic", "standard", "premium")
    for part in ("per_second", "burst")
} | {"heavy_requests_per_brand": 1_000}


@contextmanager
def running_service(
    database_url: str,
    kafka: str | None = None,
    roles: tuple[str, ...] = IN_PROCESS,
    providers: Callable[[Database], Mapping[str, Provider]] | None = None,
    **settings: Any,
) -> Iterator[Service]:
    """Every background role started on real PostgreSQL (and Kafka when given); closed afterwards.

    `providers` replaces the sandbox adapters through the composition root, as a fake would.
    """
    container = build_service(
        Settings(
            database_url=database_url,
            kafka_bootstrap_servers=kafka,
            kafka_topic_prefix=f"t{uuid4().hex[:8]}." if kafka else "",
            poll_interval=0.02,
            # as under `serve`: the outbox, the dev clock; and rate limits no test but theirs reaches
            **{"development_routes": True, **UNLIMITED, **settings},
        ),
        providers=providers,
    )
    try:
        container.start(roles)
        yield container
    finally:
        container.close()


class Client:
    """An API client for one brand.

    Texts and calls go out at any hour unless `quiet_hours` is asked for: a test that is not about
    quiet hours must not depend on the hour it happens to run at.
    """

    def __init__(self, container: Service, plan: Plan = Plan.BASIC, quiet_hours: bool = False) -> None:
        self.container = container
        brand = create_brand(
            container.store, container.db, f"brand-{uuid4().hex[:6]}", plan, container.clock.now()
        )
        self.brand_id, self.api_key = brand.brand_id, brand.api_key
        if not quiet_hours:
            change_messaging_settings(
                container.store, container.db, self.brand_id, "00:00", "24:00", None, container.clock.now()
            )
        self.http = TestClient(container.http_app())
        self.http.headers["Authorization"] = f"Bearer {self.api_key}"

    def post(self, path: str, body: Any = None, **kwargs: Any):
        return self.http.post(path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.http.get(path, **kwargs)

    def ok(self, response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def lead_group(self, contacts: list[dict[str, Any]]) -> str:
        group = self.ok(self.post("/v1/lead-groups", {"name": "leads"}), 201)
        self.ok(self.post(f"/v1/lead-groups/{group['id']}/contacts", {"contacts": contacts}))
        return group["id"]

    def sender(self, channel: str, address: str, daily_limit: int = 1000) -> dict[str, Any]:
        body = {"channel": channel, "provider": "sandbox", "address": address, "daily_limit": daily_limit}
        return self.ok(self.post("/v1/sender-accounts", body), 201)

    def campaign(self, group_id: str, steps: list[dict[str, Any]], name: str = "Q4 outreach") -> str:
        body = {"name": name, "lead_group_ids": [group_id], "steps": steps}
        return self.ok(self.post("/v1/campaign/", body), 201)["id"]

    def outbox(self, campaign_id: str) -> list[dict[str, Any]]:
        return self.ok(self.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}))["items"]


def production_settings(public_base_url: str = "http://127.0.0.1:8000") -> dict[str, str]:
    """What a role against DATABASE_URL refuses to start without, as environment variables."""
    return {
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "UNSUBSCRIBE_SECRET": f"unsubscribe-{uuid4().hex}",
        "PUBLIC_BASE_URL": public_base_url,
    }


def eventually(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.05) -> T:
    """Poll until `check` returns a truthy value; fail with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = check()
    return value


@contextmanager
def processed_after(container: Service, *roles: str, timeout: float = 30.0) -> Iterator[None]:
    """On leaving the block, wait until each periodic role has completed a pass begun inside it.

    The positive signal a "nothing happened" assertion needs: whatever those roles would do about
    what the block wrote (or a clock move it made), they have done when the block is left.
    """
    begun = {role: container.supervisor.begun[role] for role in roles}
    yield
    eventually(lambda: all(container.supervisor.passes[role] > begun[role] for role in roles), timeout)


def campaign_events(container: Service, campaign_id: str, kind: type[T]) -> list[T]:
    """Every enrollment's events of one kind for a campaign, read from the event store itself."""
    campaign = UUID(campaign_id)
    rows = container.db.fetch_all(
        "SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign,)
    )
    return [
        event
        for row in rows
        for event in container.store.events.get(Enrollment.create_id(campaign, row["contact_id"]))
        if isinstance(event, kind)
    ]


def campaign_dispatches(container: Service, campaign_id: str) -> list[tuple[str, str]]:
    """Every dispatch of a campaign's enrollments, as (step id, channel): a StepDispatched's, or one
    an enrollment made with it."""
    return [
        step for event in campaign_events(container, campaign_id, object) for step in dispatched_steps(event)
    ]


def contacts(count: int, *, phones: bool = True, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "email": f"lead{i}@example.com",
            "phone": f"+1415555{i:04d}" if phones else None,
            "first_name": f"Lead{i}",
        }
        for i in range(start, start + count)
    ]


def credits_without_renewal(credits: dict[str, Any]) -> dict[str, Any]:
    """`GET /v1/credits` without its `renews_at` (a moment that moves with the day a test runs),
    checked to be there."""
    assert isinstance(credits.get("renews_at"), str), credits
    return {key: value for key, value in credits.items() if key != "renews_at"}
