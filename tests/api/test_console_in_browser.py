"""The console and the API's documentation pages in a real browser (Debian's chromium, driven by
Playwright), used the way a person uses them: by the labels and the names of links and buttons.

Sign in, see the list, open a campaign, pause and resume it, move "As of" to before its launch and
see DRAFT, open another brand's campaign and get the 404 page, and a form posted without its CSRF
token refused with a 403; the credits and health pages, and the parked items for the admin key;
/docs and /redoc listing the operations
with every request to anywhere but loopback aborted. Each page's screenshot is written to
docs/console/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from storage.parked import park
from tests.api.api_support import service_on_own_database
from tests.api.console_browser import browsing, screenshot
from tests.api.console_support import launched_campaign, served
from tests.support import Client

NAME = "Acme spring launch"
ADMIN_KEY = "admin-" + uuid4().hex


@pytest.fixture(scope="module")
def service(server_url):
    """The service with an admin key, so the health page offers the parked items."""
    with service_on_own_database(server_url, admin_api_key=ADMIN_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def live(service):
    with served(service) as url:
        yield url


@pytest.fixture(scope="module")
def acme(service) -> tuple[Client, str]:
    client = Client(service)
    campaign_id = launched_campaign(client, NAME, contact_count=3)
    warming = {
        "channel": "email",
        "provider": "sandbox",
        "address": "new-mailbox@brand.example",
        "daily_limit": 200,
    }
    client.ok(client.post("/v1/sender-accounts", {**warming, "warmup": {"enabled": True}}), 201)
    return client, campaign_id


def _status(client: Client, campaign_id: str) -> str:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"]


def _sign_in(page, api_key: str, shot: str | None = None) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    if shot:
        screenshot(page, shot)
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def test_sign_in_open_a_campaign_pause_and_resume_it(chromium, live, acme):
    client, campaign_id = acme
    with browsing(chromium, live) as page:
        _sign_in(page, client.api_key, shot="sign-in")
        screenshot(page, "campaigns")
        page.get_by_role("link", name=NAME).click()
        status = page.get_by_test_id("campaign-status")
        expect(status).to_have_text("ACTIVE")
        screenshot(page, "campaign")
        page.get_by_role("button", name="Pause").click()
        expect(status).to_have_text("PAUSED")
        assert _status(client, campaign_id) == "PAUSED"
        page.get_by_role("button", name="Resume").click()
        expect(status).to_have_text("ACTIVE")
        assert _status(client, campaign_id) == "ACTIVE"


def test_as_of_before_the_launch_shows_the_campaign_as_a_draft(chromium, live, acme):
    client, campaign_id = acme
    launched_at = datetime.fromisoformat(client.ok(client.get(f"/v1/campaign/{campaign_id}"))["launched_at"])
    before = (launched_at - timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    with browsing(chromium, live) as page:
        _sign_in(page, client.api_key)
        page.goto(f"/console/campaigns/{campaign_id}")
        as_of = page.get_by_label("As of", exact=True)
        as_of.fill(before)
        as_of.press("Enter")
        expect(page.get_by_test_id("campaign-status")).to_have_text("DRAFT")
        screenshot(page, "campaign-as-of")
        page.get_by_role("link", name=re.compile(r"^launched ")).click()
        expect(page.get_by_test_id("campaign-status")).to_have_text("ACTIVE")


def test_another_brands_campaign_is_the_404_page(chromium, live, service, acme):
    _, campaign_id = acme
    other = Client(service)
    with browsing(chromium, live) as page:
        _sign_in(page, other.api_key)
        expect(page.get_by_role("link", name=NAME)).to_have_count(0)
        answer = page.goto(f"/console/campaigns/{campaign_id}")
        assert answer is not None and answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        screenshot(page, "not-found")


def test_a_form_posted_without_its_csrf_token_is_refused(chromium, live, acme):
    client, campaign_id = acme
    with browsing(chromium, live) as page:
        _sign_in(page, client.api_key)
        page.goto(f"/console/campaigns/{campaign_id}")
        pause = page.locator(f'form[action="/console/campaigns/{campaign_id}/pause"]')
        pause.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
        with page.expect_response(lambda r: r.url.endswith("/pause")) as answer:
            pause.get_by_role("button", name="Pause").click()
        assert answer.value.status == 403
        expect(page.get_by_role("heading", name="Refused")).to_be_visible()
        screenshot(page, "csrf-refused")
    assert _status(client, campaign_id) == "ACTIVE"


def test_the_credits_and_health_pages(chromium, live, acme):
    client, _ = acme
    with browsing(chromium, live) as page:
        _sign_in(page, client.api_key)
        page.get_by_role("link", name="Credits").click()
        page.get_by_role("button", name="Check the credits now").click()
        expect(page.get_by_test_id("audit-verdict")).to_have_text("Clean")
        expect(page.get_by_role("img", name=re.compile("Credit balance over time"))).to_be_visible()
        screenshot(page, "credits")
        page.get_by_role("link", name="Health").click()
        expect(
            page.get_by_role("img", name=re.compile("Warm-up of new-mailbox@brand.example"))
        ).to_be_visible()
        screenshot(page, "health")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()


@pytest.mark.timeout(120)  # Swagger UI's and ReDoc's scripts are large: a busy machine parses them slowly
def test_parked_items_for_the_admin_key(chromium, live, service, acme):
    client, _ = acme
    with service.db.transaction() as cur:
        park(cur, "worker:email", "enrollment-1:step-1", client.brand_id, RuntimeError("mailbox refused"), 5)
    with browsing(chromium, live) as page:
        _sign_in(page, client.api_key)
        page.get_by_role("link", name="Health").click()
        page.get_by_label("Admin key").fill(ADMIN_KEY)
        page.get_by_role("button", name="Show parked items").click()
        expect(page.get_by_role("cell", name="enrollment-1:step-1")).to_be_visible()
        expect(page.get_by_text("mailbox refused")).to_be_visible()
        screenshot(page, "health-parked")


def test_swagger_ui_lists_the_operations_without_the_internet(chromium, live):
    with browsing(chromium, live) as page:
        page.goto("/docs")
        expect(
            page.locator(".opblock-summary-path", has_text="/v1/campaign/{campaign_id}/pause")
        ).to_be_visible()


@pytest.mark.timeout(120)
def test_redoc_lists_the_operations_without_the_internet(chromium, live):
    with browsing(chromium, live) as page:
        page.goto("/redoc")
        expect(page.get_by_role("heading", name="Pause").first).to_be_visible()
        screenshot(page, "api-docs-redoc", full_page=False)
