"""Helpers shared by the console's tests: signing in through the form as a browser does, the
session's CSRF token read from a page, a launched campaign to look at, and the API served on a
loopback socket for a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from runtime.service import Service
from tests.served import loopback_socket, served_over_http
from tests.support import Client, contacts, eventually

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hello", "body": "Hello"},
    {"type": "WAIT", "group": 1, "wait_days": 2},
    {"type": "EMAIL", "group": 2, "subject": "Again", "body": "Hello again"},
]


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(container: Service, api_key: str, base_url: str = "http://testserver") -> TestClient:
    """A browser-like client (cookies kept, redirects followed) signed in with `api_key`."""
    browser = TestClient(container.http_app(), base_url=base_url)
    form = browser.get("/console/sign-in")
    answer = browser.post("/console/sign-in", data={"api_key": api_key, "csrf_token": csrf_of(form.text)})
    assert answer.status_code == 200 and answer.url.path == "/console/", answer.text
    return browser


def launched_campaign(client: Client, name: str, contact_count: int = 2) -> str:
    """An ACTIVE campaign of two emails two days apart, its first emails sent."""
    client.sender("email", f"sales-{name.replace(' ', '-')}@brand.example")
    campaign_id = client.campaign(client.lead_group(contacts(contact_count, phones=False)), STEPS, name=name)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: len(client.outbox(campaign_id)) == contact_count)
    return campaign_id


@contextmanager
def served(container: Service) -> Iterator[str]:
    """The container's API (the console with it) on a loopback socket until the block ends."""
    with served_over_http(container, loopback_socket()) as url:
        yield url
