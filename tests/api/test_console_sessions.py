"""The console's sessions, forms and brand isolation, through the pages as a browser uses them.

Signing in with a brand's key opens a server-side session behind an HttpOnly, SameSite=Strict
cookie (Secure over HTTPS) and lands on the brand's campaigns; a key that is not live is refused;
a page without a session sends the browser to sign in. Every form that changes something needs the
session's CSRF token: without it the answer is a 403 and nothing changes. Signing out, or revoking
the key the session was opened with, ends the session. Another brand's campaign is a 404 page.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.campaign import Campaign
from tests.api.console_support import csrf_of, launched_campaign, signed_in
from tests.support import Client


@pytest.fixture(scope="module")
def acme(service) -> tuple[Client, str]:
    client = Client(service)
    return client, launched_campaign(client, "Acme winter outreach")


def _status(client: Client, campaign_id: str) -> str:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"]


def test_signing_in_lands_on_the_brands_campaigns_behind_a_strict_http_only_cookie(service, acme):
    client, campaign_id = acme
    browser = signed_in(service, client.api_key)
    listing = browser.get("/console/")
    assert f'<a href="/console/campaigns/{campaign_id}">Acme winter outreach</a>' in listing.text
    form = browser.get("/console/sign-in")
    answer = browser.post(
        "/console/sign-in",
        data={"api_key": client.api_key, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    assert listing.headers["x-frame-options"] == "DENY" and listing.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in listing.headers["content-security-policy"]


def test_over_https_the_session_cookie_is_secure(service, acme):
    client, _ = acme
    browser = signed_in(service, client.api_key, base_url="https://testserver")
    form = browser.get("/console/sign-in")
    answer = browser.post(
        "/console/sign-in",
        data={"api_key": client.api_key, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
    assert "Secure" in cookie


def test_a_key_that_is_not_live_is_refused_and_no_session_is_opened(service):
    from fastapi.testclient import TestClient

    browser = TestClient(service.http_app())
    form = browser.get("/console/sign-in")
    answer = browser.post(
        "/console/sign-in", data={"api_key": "cs_not-a-key", "csrf_token": csrf_of(form.text)}
    )
    assert answer.status_code == 401 and "That API key is not valid" in answer.text
    assert "console_session" not in browser.cookies
    assert browser.get("/console/", follow_redirects=False).headers["location"] == "/console/sign-in"


def test_a_sign_in_posted_without_its_form_token_is_refused(service, acme):
    from fastapi.testclient import TestClient

    client, _ = acme
    browser = TestClient(service.http_app())
    answer = browser.post("/console/sign-in", data={"api_key": client.api_key}, follow_redirects=False)
    assert answer.status_code == 403
    assert "console_session" not in browser.cookies


def test_a_page_without_a_session_sends_the_browser_to_sign_in(service, acme):
    from fastapi.testclient import TestClient

    _, campaign_id = acme
    answer = TestClient(service.http_app()).get(f"/console/campaigns/{campaign_id}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


def test_a_form_posted_without_the_csrf_token_is_a_403_and_changes_nothing(service, acme):
    client, campaign_id = acme
    browser = signed_in(service, client.api_key)
    for token in (None, "forged"):
        data = {} if token is None else {"csrf_token": token}
        answer = browser.post(f"/console/campaigns/{campaign_id}/pause", data=data, follow_redirects=False)
        assert answer.status_code == 403, answer.text
        reason = "This form did not carry this session&#39;s token (CSRF), so nothing was changed."
        assert f"<p>{reason}</p>" in answer.text  # said as it is, HTML-escaped
        assert _status(client, campaign_id) == "ACTIVE"


def test_pause_and_resume_run_the_campaigns_commands(service, acme):
    client, campaign_id = acme
    browser = signed_in(service, client.api_key)
    token = csrf_of(browser.get(f"/console/campaigns/{campaign_id}").text)
    asked = datetime.now(UTC)
    paused = browser.post(f"/console/campaigns/{campaign_id}/pause", data={"csrf_token": token})
    assert paused.status_code == 200 and 'data-testid="campaign-status">PAUSED<' in paused.text
    assert _status(client, campaign_id) == "PAUSED"
    *_, pause = service.store.events.get(UUID(campaign_id))
    assert isinstance(pause, Campaign.CampaignPaused) and asked <= pause.paused_at <= datetime.now(UTC)
    resumed = browser.post(f"/console/campaigns/{campaign_id}/resume", data={"csrf_token": token})
    assert 'data-testid="campaign-status">ACTIVE<' in resumed.text
    assert _status(client, campaign_id) == "ACTIVE"
    refused = browser.post(f"/console/campaigns/{campaign_id}/resume", data={"csrf_token": token})
    assert refused.status_code == 200  # not PAUSED: said, not done, in the API's own words
    words = client.http.post(f"/v1/campaign/{campaign_id}/resume").json()["detail"]
    assert f'<p class="notice" role="status">{html.escape(words)}</p>' in refused.text
    assert _status(client, campaign_id) == "ACTIVE"


def test_a_change_to_a_campaign_that_is_not_there_is_the_404_page_of_a_signed_in_user(service, acme):
    client, _ = acme
    browser = signed_in(service, client.api_key)
    token = csrf_of(browser.get("/console/").text)
    for target in ("not-a-uuid", str(uuid4())):
        answer = browser.post(f"/console/campaigns/{target}/pause", data={"csrf_token": token})
        assert answer.status_code == 404
        assert "<p>There is no such campaign here.</p>" in answer.text
        assert 'action="/console/sign-out"' in answer.text  # still signed in: the menu stays


def test_another_brands_campaign_is_a_404_page_and_its_forms_change_nothing(service, acme):
    _, campaign_id = acme
    other = Client(service)
    browser = signed_in(service, other.api_key)
    page = browser.get(f"/console/campaigns/{campaign_id}")
    assert page.status_code == 404 and "Not found" in page.text
    assert "Acme winter outreach" not in browser.get("/console/").text
    token = csrf_of(browser.get("/console/").text)
    refused = browser.post(f"/console/campaigns/{campaign_id}/archive", data={"csrf_token": token})
    assert refused.status_code == 404
    assert _status(acme[0], campaign_id) == "ACTIVE"
    assert browser.get("/console/campaigns/not-a-uuid").status_code == 404


def test_signing_out_ends_the_session(service, acme):
    client, _ = acme
    browser = signed_in(service, client.api_key)
    cookie = browser.cookies["console_session"]
    token = csrf_of(browser.get("/console/").text)
    browser.post("/console/sign-out", data={"csrf_token": token})
    browser.cookies.set("console_session", cookie, path="/console")  # a copy kept: still refused
    assert browser.get("/console/", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_the_sessions_opened_with_it(service, acme):
    client, _ = acme
    issued = client.ok(client.post("/v1/api-keys", {"name": "console"}), 201)
    browser = signed_in(service, issued["api_key"])
    assert browser.get("/console/", follow_redirects=False).status_code == 200
    assert client.http.delete(f"/v1/api-keys/{issued['id']}").status_code == 204
    assert browser.get("/console/", follow_redirects=False).headers["location"] == "/console/sign-in"
