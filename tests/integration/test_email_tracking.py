"""Opens and clicks of sent emails, through the public tracking links, as a recipient's mail client
would follow them: the pixel and each click are recorded once per step in the metrics (live and
as of a moment) and the executions, a click redirects only to a link of the campaign's step body,
and a forged, altered, misused or unknown token is a 404 that records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from commands.tracking.tracking_tokens import TrackedStep
from domain.enrollment import Enrollment
from provider_fakes.google import FakeGoogle
from tests.support import Client, campaign_events, eventually, processed_after, running_service

KEY = Fernet.generate_key().decode()
PUBLIC = "http://127.0.0.1:8765"
OFFER, MORE = "https://example.com/offer", "https://example.com/more?a=1&b=2"
TRACKED_EMAIL = {
    "type": "EMAIL",
    "group": 0,
    "subject": "Hi {{first_name|there}}",
    "body": f'<p>Hi {{{{first_name|there}}}}, see <a href="{OFFER}">the offer</a> '
    f'and <a href="{MORE.replace("&", "&amp;")}">more</a>.</p>',
}
LATER = {"type": "EMAIL", "group": 1, "subject": "Re: Hi", "body": f"Still there? {OFFER}"}
PEOPLE = [{"email": "ada@example.com", "first_name": "Ada"}, {"email": "bo@example.com"}]
PIXEL = re.compile(re.escape(PUBLIC) + r"/t/o/([A-Za-z0-9_\-.]+)")
CLICK = re.compile(re.escape(PUBLIC) + r"/t/c/([A-Za-z0-9_\-.]+)")
PROJECTORS = ("projector",)


@pytest.fixture
def service(database_url: str) -> Iterator[Any]:
    with running_service(database_url, credentials_key=KEY, public_base_url=PUBLIC) as container:
        yield container


def sent_campaign(client: Client, steps: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """A launched campaign whose first email reached both people; their sandbox bodies by address."""
    client.sender("email", "sales@brand.example")
    campaign_id = client.campaign(client.lead_group(PEOPLE), steps)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    sent = eventually(lambda: len(o := client.outbox(campaign_id)) == 2 and o)
    eventually(lambda: metrics(client, campaign_id)["sent"]["email"] == 2)  # StepSent recorded
    return campaign_id, {item["to"]: item["body"] for item in sent}


def public(service: Any) -> TestClient:
    """A recipient's client: no API key."""
    return TestClient(service.http_app(), follow_redirects=False)


def metrics(client: Client, campaign_id: str, **params: str) -> dict[str, Any]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}", params=params))["metrics"]


def executions(client: Client, campaign_id: str) -> list[dict[str, Any]]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]


def test_the_sent_body_carries_the_pixel_and_links_rewritten_to_tracking_links(service):
    client = Client(service)
    _, bodies = sent_campaign(client, [TRACKED_EMAIL])
    for body in bodies.values():
        assert len(PIXEL.findall(body)) == 1
        assert len(CLICK.findall(body)) == 2
        assert OFFER not in body and "example.com/more" not in body
    assert "Hi Ada" in bodies["ada@example.com"]


def test_an_open_and_a_click_are_counted_once_in_the_metrics_and_the_executions(service):
    client = Client(service)
    campaign_id, bodies = sent_campaign(client, [TRACKED_EMAIL])
    ada = bodies["ada@example.com"]
    [pixel], [offer, more] = PIXEL.findall(ada), CLICK.findall(ada)
    recipient = public(service)
    opening = datetime.now(UTC)
    for _ in range(2):  # opened twice, clicked three times: each counts the step once
        opened = recipient.get(f"/t/o/{pixel}")
        assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
        assert opened.content.startswith(b"GIF89a") and "no-store" in opened.headers["cache-control"]
    clicking = datetime.now(UTC)
    assert recipient.get(f"/t/c/{offer}").headers["location"] == OFFER
    clicked = datetime.now(UTC)
    for _ in range(2):
        followed = recipient.get(f"/t/c/{more}")
        assert (followed.status_code, followed.headers["location"]) == (302, MORE)

    counted = eventually(lambda: (m := metrics(client, campaign_id))["opened"] == 1 and m["clicked"] and m)
    assert (counted["opened"], counted["clicked"], counted["cancelled"]) == (1, 1, 0)
    rows = {row["contact_id"]: row for row in eventually(lambda: executions(client, campaign_id))}
    opened_rows = eventually(lambda: [r for r in executions(client, campaign_id) if r["opened_at"]])
    assert len(rows) == 2 and len(opened_rows) == 1 and opened_rows[0]["status"] == "sent"
    [open_event] = campaign_events(service, campaign_id, Enrollment.StepOpened)
    [click_event] = campaign_events(service, campaign_id, Enrollment.StepClicked)
    assert click_event.url == OFFER  # the first click's link; later clicks redirect, record nothing
    assert clicking <= click_event.clicked_at <= clicked  # when it was followed
    assert opening <= open_event.opened_at <= clicking  # when it was first opened
    assert UUID(opened_rows[0]["contact_id"]) == service.store.enrollment(open_event.originator_id).contact_id
    as_of = metrics(client, campaign_id, as_of=datetime.now(UTC).isoformat())
    assert (as_of["opened"], as_of["clicked"]) == (1, 1)


def test_a_forged_altered_or_misused_token_is_a_404_that_records_nothing(service):
    client = Client(service)
    campaign_id, bodies = sent_campaign(client, [TRACKED_EMAIL])
    [pixel], [offer, _] = PIXEL.findall(bodies["ada@example.com"]), CLICK.findall(bodies["ada@example.com"])
    step = service.parts.tracking_tokens.read(offer)
    unsubscribe = service.parts.unsubscribe_tokens.token(
        UnsubscribeRequest(step.brand_id, step.campaign_id, UUID(int=1), "ada@example.com")
    )
    altered = offer[:-2] + ("AA" if not offer.endswith("AA") else "BB")
    bad = [
        f"/t/c/{altered}",
        f"/t/o/{pixel[:5]}{'y' if pixel[5] == 'x' else 'x'}{pixel[6:]}",  # one character changed
        f"/t/c/{pixel}",  # an open token is not a click
        f"/t/o/{offer}",  # nor a click token an open
        f"/t/o/{unsubscribe}",
        f"/t/c/{service.parts.tracking_tokens.token(TrackedStep(*[*vars(step).values()][:4], 7))}",  # no 8th link
        f"/t/c/{service.parts.tracking_tokens.token(TrackedStep(*[*vars(step).values()][:4], 2))}",  # one past the last
        "/t/o/garbage",
        "/t/c/",
    ]
    recipient = public(service)
    with processed_after(service, *PROJECTORS):
        for path in bad:
            answer = recipient.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json"
            if path != "/t/c/":  # no token at all: no such route
                assert answer.json()["detail"] == "this link does not exist", path
            assert "location" not in answer.headers
    assert campaign_events(service, campaign_id, Enrollment.StepOpened) == []
    assert campaign_events(service, campaign_id, Enrollment.StepClicked) == []
    assert (metrics(client, campaign_id)["opened"], metrics(client, campaign_id)["clicked"]) == (0, 0)
    assert not any(row["opened_at"] for row in executions(client, campaign_id))


def test_a_tracking_link_to_a_service_without_a_signing_secret_is_a_404(database_url):
    with running_service(database_url, roles=()) as service:
        assert service.parts.tracking_tokens is None  # no secret configured: no link was ever signed
        recipient = public(service)
        for path in ("/t/o/anything", "/t/c/anything"):
            answer = recipient.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["detail"] == "this link does not exist"


def test_a_token_for_a_step_not_sent_yet_is_a_404(service):
    client = Client(service)
    campaign_id, bodies = sent_campaign(client, [TRACKED_EMAIL, {**LATER, "wait_days": 0}])
    sent = service.parts.tracking_tokens.read(PIXEL.findall(bodies["ada@example.com"])[0])
    campaign = service.store.campaign(UUID(campaign_id))
    later = next(s.id for s in campaign.steps if s.group == 1)
    unsent = TrackedStep(sent.brand_id, sent.campaign_id, sent.enrollment_id, later)
    clicked = TrackedStep(sent.brand_id, sent.campaign_id, sent.enrollment_id, later, 0)
    recipient = public(service)
    for path in (
        f"/t/o/{service.parts.tracking_tokens.token(unsent)}",
        f"/t/c/{service.parts.tracking_tokens.token(clicked)}",
    ):
        answer = recipient.get(path)
        assert (answer.status_code, answer.json()["detail"]) == (404, "this link does not exist")
    assert campaign_events(service, campaign_id, Enrollment.StepOpened) == []


def test_another_brand_can_neither_see_nor_affect_the_tracking(service):
    owner, other = Client(service), Client(service)
    campaign_id, bodies = sent_campaign(owner, [TRACKED_EMAIL])
    pixel = service.parts.tracking_tokens.read(PIXEL.findall(bodies["ada@example.com"])[0])
    other_campaign, _ = sent_campaign(other, [TRACKED_EMAIL])
    # A token naming the other brand (or its campaign) with the owner's enrollment records nothing.
    disguised = [
        TrackedStep(other.brand_id, pixel.campaign_id, pixel.enrollment_id, pixel.step_id),
        TrackedStep(pixel.brand_id, UUID(other_campaign), pixel.enrollment_id, pixel.step_id),
    ]
    recipient = public(service)
    for tracked in disguised:
        assert recipient.get(f"/t/o/{service.parts.tracking_tokens.token(tracked)}").status_code == 404
    assert recipient.get(f"/t/o/{service.parts.tracking_tokens.token(pixel)}").status_code == 200
    eventually(lambda: metrics(owner, campaign_id)["opened"] == 1)
    assert other.get(f"/v1/campaign/{campaign_id}").status_code == 404
    assert other.get(f"/v1/campaign/{campaign_id}/executions").status_code == 404
    assert metrics(other, other_campaign)["opened"] == 0
    assert len(campaign_events(service, campaign_id, Enrollment.StepOpened)) == 1


def test_a_gmail_email_carries_the_pixel_in_its_html_and_tracked_links_in_both_parts(database_url):
    google = FakeGoogle().start()
    try:
        with running_service(
            database_url,
            credentials_key=KEY,
            gmail_api_base_url=google.api_base_url,
            public_base_url=PUBLIC,
            gmail_timeout=5.0,
        ) as service:
            client = Client(service)
            account = {"channel": "email", "provider": "gmail", "address": "sales@brand.example"}
            client.ok(
                client.post(
                    "/v1/sender-accounts", {**account, "credentials": google.mailbox(account["address"])}
                ),
                201,
            )
            campaign_id = client.campaign(client.lead_group(PEOPLE[:1]), [TRACKED_EMAIL])
            client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
            [message] = eventually(lambda: google.messages())
            parts = {p.get_content_type(): p.get_content() for p in message.parsed.iter_parts()}
            [pixel] = PIXEL.findall(parts["text/html"])
            assert len(CLICK.findall(parts["text/html"])) == 2 and OFFER not in parts["text/html"]
            assert "see the offer and more" in parts["text/plain"]
            eventually(lambda: metrics(client, campaign_id)["sent"]["email"] == 1)  # StepSent recorded
            assert public(service).get(f"/t/o/{pixel}").status_code == 200
            eventually(lambda: metrics(client, campaign_id)["opened"] == 1)
    finally:
        google.stop()
