"""Opening an email's List-Unsubscribe link (RFC 8058) with GET, as a mail scanner or a link preview
does, never unsubscribes anyone: it shows a page with a button, the address stays on no list and
the contact's follow-up still goes. Only the one-click POST unsubscribes. A token spelled otherwise
than it was handed out is not a link of ours: a 404 that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from tests.support import Client, eventually, running_service

DAY = 86_400
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello."},
    {"type": "EMAIL", "group": 1, "subject": "Re: Hi", "body": "Again."},
]
ONE_CLICK = {
    "content": b"List-Unsubscribe=One-Click",
    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
}


@pytest.fixture
def service(database_url: str) -> Iterator[Any]:
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key, dev_clock=True) as container:
        yield container


def _launched_to_ada(service) -> tuple[Client, str, str]:
    """A two-email campaign to Ada, its first email sent; and the path of Ada's unsubscribe link."""
    client = Client(service)
    client.sender("email", "sales@brand.example")
    campaign_id = client.campaign(client.lead_group([{"email": "ada@example.com"}]), STEPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: len(client.outbox(campaign_id)) == 1)
    [ada] = service.db.fetch_all(
        "SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (UUID(campaign_id),)
    )
    request = UnsubscribeRequest(client.brand_id, UUID(campaign_id), ada["contact_id"], "ada@example.com")
    return client, campaign_id, f"/u/{service.parts.unsubscribe_tokens.token(request)}"


def _suppressed(client: Client) -> list[str]:
    return [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]]


def test_a_link_opened_with_get_shows_a_button_and_unsubscribes_no_one(service):
    client, campaign_id, link = _launched_to_ada(service)
    scanner = TestClient(service.http_app())  # no API key: a mail scanner or a link preview

    for _ in range(3):
        page = scanner.get(link)
        assert page.status_code == 200 and 'method="post"' in page.text and "ada@example.com" in page.text
    assert scanner.head(link).status_code in (200, 405)

    assert _suppressed(client) == []
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    done = eventually(
        lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
    )
    assert len(client.outbox(campaign_id)) == 2  # the follow-up went
    assert done["metrics"]["unsubscribed"] == 0 and done["metrics"]["cancelled"] == 0


def test_only_the_one_click_post_unsubscribes(service):
    client, campaign_id, link = _launched_to_ada(service)
    recipient = TestClient(service.http_app())
    recipient.get(link)
    assert _suppressed(client) == []

    assert recipient.post(link, **ONE_CLICK).status_code == 200

    assert _suppressed(client) == ["ada@example.com"]
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    done = eventually(
        lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
    )
    assert len(client.outbox(campaign_id)) == 1
    assert done["metrics"]["unsubscribed"] == 1


def test_a_link_whose_token_is_spelled_another_way_is_a_404_that_unsubscribes_no_one(service):
    client, _, link = _launched_to_ada(service)
    recipient = TestClient(service.http_app())
    payload, mac = link.removeprefix("/u/").split(".")
    respelled = [
        f"/u/{payload}.{mac}==",
        f"/u/{payload}==.{mac}",
        f"/u/{payload}.{mac[:-1]}{mac[-1].swapcase()}",
    ]
    last = mac[-1]  # a 16-byte MAC leaves 4 spare bits in its last character: set one
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled.append(f"/u/{payload}.{mac[:-1]}{alphabet[alphabet.index(last) | 1]}")

    for other in respelled:
        assert recipient.get(other).status_code == 404, other
        assert recipient.post(other, **ONE_CLICK).status_code == 404, other
    assert _suppressed(client) == []


def test_a_one_click_body_with_bytes_that_are_not_utf8_beside_it_still_unsubscribes(service):
    """Mail clients post what they post: a stray byte that is no UTF-8 elsewhere in the body does
    not turn the one click into a server error."""
    client, _, link = _launched_to_ada(service)
    body = {**ONE_CLICK, "content": b"List-Unsubscribe=One-Click&note=caf\xe9"}
    answer = TestClient(service.http_app()).post(link, **body)
    assert answer.status_code == 200, answer.text
    assert _suppressed(client) == ["ada@example.com"]


def test_a_post_whose_body_is_not_utf_8_is_refused_as_not_one_click_and_unsubscribes_no_one(service):
    client, _, link = _launched_to_ada(service)
    recipient = TestClient(service.http_app(), raise_server_exceptions=False)
    answer = recipient.post(link, content=b"List-Unsubscribe=One-Click\xff", headers=ONE_CLICK["headers"])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "List-Unsubscribe=One-Click" in answer.json()["detail"]
    assert _suppressed(client) == []


def test_a_service_with_no_secret_to_sign_links_with_answers_every_link_with_a_404(database_url):
    with running_service(database_url, roles=()) as bare:
        assert bare.parts.unsubscribe_tokens is None  # no unsubscribe secret, credentials key or key folder
        visitor = TestClient(bare.http_app(), raise_server_exceptions=False)
        for answer in (visitor.get("/u/any.link"), visitor.post("/u/any.link", **ONE_CLICK)):
            assert answer.status_code == 404, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
