"""Helpers shared by the HTTP API tests: RFC 9457 problem checks, a client that shows 500s as answers,
a launchable campaign, and a service on a database of its own that a whole test module shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from runtime.roles import IN_PROCESS
from runtime.service import Service
from tests import databases
from tests.support import Client, contacts, running_service

PROBLEM_MEDIA_TYPE = "application/problem+json"
EMAIL_STEP = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello"}
SMS_STEP = {"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}"}
VOICEMAIL_STEP = {"type": "VOICEMAIL", "group": 0, "audio_url": "https://example.com/hello.mp3"}


def media_type(response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def assert_problem(response, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with the given status; return its body."""
    assert response.status_code == status, response.text
    assert media_type(response) == PROBLEM_MEDIA_TYPE, response.headers.get("content-type")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str) and body[member], body
    return body


def lenient(client: Client) -> TestClient:
    """A client of the same brand that answers a server error as a 500 instead of raising it."""
    http = TestClient(client.container.http_app(), raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {client.api_key}"
    return http


def launchable_campaign(client: Client, contact_count: int = 1, name: str = "launchable") -> str:
    """A DRAFT campaign of one EMAIL step to `contact_count` contacts that a launch accepts."""
    client.sender("email", f"sales-{name}@brand.example")
    group = client.lead_group(contacts(contact_count, phones=False))
    return client.campaign(group, [EMAIL_STEP], name=name)


@contextmanager
def service_on_own_database(
    server_url: str, roles: tuple[str, ...] = IN_PROCESS, **settings: Any
) -> Iterator[Service]:
    """The service (every role by default) on a database of its own, dropped afterwards.

    A module shares one such service; its tests stay independent by each working as brands of
    their own (`Client` registers a new brand), which is how the API separates tenants anyway.
    """
    template = databases.migrated_template(server_url)
    with (
        databases.own_database(server_url, template, prefix="test_api") as url,
        running_service(url, roles=roles, **settings) as service,
    ):
        yield service
