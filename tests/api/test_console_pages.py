"""What the console's pages show, read as a browser reads them (the HTML), on a service with an
admin key: a campaign's steps by day, its funnel per step, executions, events and milestones; the
campaign as of its creation (DRAFT); the list filtered by status; the credits page's ledger, line
and audit verdict; the health page's sender accounts, and the parked items for the admin key only.
And the API's /docs and /redoc pages load their assets from the service, not from a CDN.
"""

from __future__ import annotations

import re
import time
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from storage.parked import park
from tests.api.api_support import service_on_own_database
from tests.api.console_support import csrf_of, launched_campaign, signed_in
from tests.support import Client, contacts, eventually

ADMIN_KEY = "admin-" + uuid4().hex


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, admin_api_key=ADMIN_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def shown(service) -> tuple[Client, str, TestClient]:
    client = Client(service)
    campaign_id = launched_campaign(client, "Spring hello", contact_count=2)
    browser = signed_in(service, client.api_key)

    def both_first_emails_shown() -> bool:  # the StepExecutions read model follows the log
        html = browser.get(f"/console/campaigns/{campaign_id}").text
        return len(re.findall(r"<td>(sent|delivered)</td>", html)) == 2

    eventually(both_first_emails_shown)
    return client, campaign_id, browser


def _milestone(html: str, name: str) -> str:
    found = re.search(rf'href="(/console/campaigns/[^"]+\?as_of=[^"]+)">{name} ', html)
    assert found, f"no {name} milestone link"
    return found.group(1).replace("&amp;", "&")


def test_a_campaign_page_shows_its_steps_by_day_funnels_executions_and_events(shown):
    _, campaign_id, browser = shown
    html = browser.get(f"/console/campaigns/{campaign_id}").text
    assert 'data-testid="campaign-status">ACTIVE<' in html
    days = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>\s*<td>(EMAIL|WAIT)", html)
    assert [(day, kind) for day, _, kind in days] == [("0", "EMAIL"), ("2", "WAIT"), ("2", "EMAIL")]
    first_step = days[0][1]
    assert re.search(rf'role="img" aria-label="Funnel of step {first_step}: enrolled 2, sent 2,', html)
    assert html.count("<td>pending</td>") == 2  # the second emails wait their two days
    assert "<td>CampaignCreated</td>" in html and "<td>CampaignLaunched</td>" in html
    assert "&#34;name&#34;: &#34;Spring hello&#34;" in html  # an event's data, escaped
    for name in ("Pause", "Resume", "Archive"):
        assert f'<button type="submit">{name}</button>' in html
    assert '<label for="as_of">As of</label>' in html


def test_as_of_its_creation_the_campaign_is_a_draft_with_nothing_sent(shown):
    _, campaign_id, browser = shown
    html = browser.get(f"/console/campaigns/{campaign_id}").text
    then = browser.get(_milestone(html, "created")).text
    assert 'data-testid="campaign-status">DRAFT<' in then
    assert "<td>CampaignLaunched</td>" not in then and "No step executions" in then
    assert 'data-testid="campaign-status">ACTIVE<' in browser.get(_milestone(html, "launched")).text
    assert '<button type="submit">Pause</button>' not in then  # the past is read, not changed


def test_the_funnel_now_is_the_funnel_rebuilt_from_every_event(shown):
    _, campaign_id, browser = shown
    labels = re.compile(r'aria-label="(Funnel of step [^"]+)"')
    now = labels.findall(browser.get(f"/console/campaigns/{campaign_id}").text)
    rebuilt = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": "2999-01-01T00:00:00Z"})
    assert now and labels.findall(rebuilt.text) == now


def test_as_of_reads_a_time_without_a_zone_as_utc_and_says_when_a_time_is_not_one(shown):
    _, campaign_id, browser = shown
    local = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": "2999-01-01T00:00"})
    assert 'data-testid="campaign-status">ACTIVE<' in local.text
    bad = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": "yesterday"})
    assert bad.status_code == 200 and "is not a time" in bad.text
    before = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404


def _banner(html: str) -> str:
    found = re.search(r'class="as-of-banner">as it stood at ([^<]+)<', html)
    assert found, "no as-of banner"
    return found.group(1)


WITH_A_ZONE = ("2999-01-01T01:00:00+01:00", "2999-01-01 01:00:00 +01:00", "2998-12-31T16:00-08:00")
IN_UTC = ("2999-01-01T00:00", "2999-01-01 00:00", "2999-01-01T00:00:00Z", "2999-01-01Z")  # no zone, or Z


def test_as_of_is_read_in_its_own_zone_or_in_utc_and_shown_in_utc_on_any_machine(shown, monkeypatch):
    _, campaign_id, browser = shown
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        for written in WITH_A_ZONE + IN_UTC:  # each the first moment of 2999, UTC
            html = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": written}).text
            assert _banner(html) == "2999-01-01T00:00:00Z", written
        day_in_a_zone = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": "2999-01-01+05:00"})
        assert _banner(day_in_a_zone.text) == "2998-12-31T19:00:00Z"  # that day's midnight, not 05:00
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_milestone_is_shown_to_the_second_in_utc_and_links_to_its_moment(shown):
    _, campaign_id, browser = shown
    html = browser.get(f"/console/campaigns/{campaign_id}").text
    found = re.search(
        r'\?as_of=(\d{4})-(\d\d)-(\d\d)T(\d\d)%3A(\d\d)%3A(\d\d)[^"]*">created ([^<]+)</a>', html
    )
    assert found, "no created milestone"
    year, month, day, hour, minute, second, shown_at = found.groups()
    assert shown_at == f"{year}-{month}-{day} {hour}:{minute}:{second} UTC"


def test_as_of_its_launch_the_events_include_the_launch(shown):
    _, campaign_id, browser = shown
    html = browser.get(f"/console/campaigns/{campaign_id}").text
    then = browser.get(_milestone(html, "launched")).text
    assert "<td>CampaignLaunched</td>" in then  # the moment is the launch's own, to the microsecond


def test_each_step_goes_out_after_every_wait_before_it(shown):
    client, _, browser = shown
    steps = [
        {"type": "EMAIL", "group": 0, "subject": "One", "body": "One"},
        {"type": "WAIT", "group": 1, "wait_days": 2},
        {"type": "EMAIL", "group": 2, "subject": "Two", "body": "Two"},
        {"type": "WAIT", "group": 3, "wait_days": 0},
        {"type": "EMAIL", "group": 4, "subject": "Three", "body": "Three"},
        {"type": "WAIT", "group": 5, "wait_days": 3},
        {"type": "EMAIL", "group": 6, "subject": "Four", "body": "Four"},
    ]
    campaign_id = client.campaign(
        client.lead_group(contacts(1, phones=False, start=900)), steps, name="Waits"
    )
    html = browser.get(f"/console/campaigns/{campaign_id}").text
    days = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>[^<]+</td>\s*<td>(?:EMAIL|WAIT)", html)
    assert days == ["0", "2", "2", "2", "2", "5", "5"]


def test_the_executions_filter_and_the_list_filter_by_status(shown):
    _, campaign_id, browser = shown
    pending = browser.get(f"/console/campaigns/{campaign_id}", params={"status": "pending"}).text
    assert pending.count("<td>pending</td>") == 2 and "<td>sent</td>" not in pending
    assert "Spring hello" in browser.get("/console/", params={"status": "ACTIVE"}).text
    assert "Spring hello" not in browser.get("/console/", params={"status": "PAUSED"}).text


def test_the_credits_page_shows_the_ledger_the_balance_line_and_a_clean_audit(shown):
    client, campaign_id, browser = shown
    assert "Not checked yet" in browser.get("/console/credits").text  # the audit runs when asked
    html = browser.get("/console/credits", params={"audit": "now"}).text
    balance = client.ok(client.get("/v1/credits"))["balance"]
    assert f'data-testid="balance">{balance:,}<' in html
    assert 'data-testid="audit-verdict">Clean<' in html and "checked " in html
    assert 'role="img" aria-label="Credit balance over time' in html
    assert f'<a href="/console/campaigns/{campaign_id}">Spring hello</a>' in html  # its reservation
    assert "<td>granted</td>" in html


def test_the_health_page_shows_sends_today_against_the_limit(shown):
    _, _, browser = shown
    html = browser.get("/console/health").text
    assert "sales-spring-hello@brand.example" in html.lower()
    assert "<td>2 of " in html


def test_parked_items_are_shown_for_the_admin_key_only(service, shown):
    _, _, browser = shown
    with service.db.transaction() as cur:
        park(cur, "projector", "position:42", None, RuntimeError("the row would not fit"), 3)
    token = csrf_of(browser.get("/console/health").text)
    wrong = browser.post("/console/parked", data={"csrf_token": token, "admin_key": ADMIN_KEY + "x"})
    assert wrong.status_code == 403 and "position:42" not in wrong.text
    no_token = browser.post("/console/parked", data={"admin_key": ADMIN_KEY})
    assert no_token.status_code == 403 and "position:42" not in no_token.text
    right = browser.post("/console/parked", data={"csrf_token": token, "admin_key": ADMIN_KEY})
    assert right.status_code == 200 and "position:42" in right.text and "the row would not fit" in right.text


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"]),
        ("/redoc", ["/docs/assets/redoc.standalone.js"]),
    ],
)
def test_the_api_documentation_pages_load_their_assets_from_the_service(service, page, assets):
    http = TestClient(service.http_app())
    html = http.get(page).text
    assert "cdn." not in html and "fonts.googleapis" not in html
    for asset in assets:
        assert asset in html
        served = http.get(asset)
        assert served.status_code == 200 and len(served.content) > 100_000


def test_the_health_page_draws_a_warming_mailboxs_limit_for_each_of_its_first_thirty_days(service):
    client = Client(service)
    warmup = {"enabled": True, "start_limit": 10, "daily_increment": 5}
    body = {"channel": "email", "provider": "sandbox", "address": "warm@brand.example", "daily_limit": 1000}
    client.ok(client.post("/v1/sender-accounts", {**body, "warmup": warmup}), 201)
    cold = {**body, "address": "cold@brand.example"}  # no warm-up: no curve
    client.ok(client.post("/v1/sender-accounts", cold), 201)
    html = signed_in(service, client.api_key).get("/console/health").text
    drawn = re.findall(
        r'<svg class="spark" role="img" aria-label="([^"]*)"[^>]*><polyline points="([^"]*)"', html
    )
    assert len(drawn) == 1, "one curve, for the mailbox that warms up"
    [(label, polyline)] = drawn
    assert label == "Warm-up of warm@brand.example: 10 a day at first, 155 by day 30"
    points = [tuple(float(n) for n in point.split(",")) for point in polyline.split()]
    limits = [10 + 5 * day for day in range(30)]  # 10, 15, ... 155 on the thirtieth day
    # 160 pixels wide over 29 steps; 40 high, 2 of margin, the highest limit at the top
    assert points == [
        (round(day * 160 / 29, 1), round(38 - 36 * limit / 155, 1)) for day, limit in enumerate(limits)
    ]
    assert "from 10, +5 a day" in html


def test_a_mailbox_warming_from_one_a_day_is_drawn_at_the_top_from_its_first_day(service):
    client = Client(service)
    warmup = {"enabled": True, "start_limit": 1, "daily_increment": 1}  # capped at 1
    body = {"channel": "email", "provider": "sandbox", "address": "slow@brand.example", "daily_limit": 1}
    client.ok(client.post("/v1/sender-accounts", {**body, "warmup": warmup}), 201)
    html = signed_in(service, client.api_key).get("/console/health").text
    [polyline] = re.findall(r'<polyline points="([^"]*)"', html)
    assert {point.split(",")[1] for point in polyline.split()} == {"2.0"}  # 1 of 1: the top line


def test_a_paused_campaign_says_who_paused_it(service):
    client = Client(service)
    campaign_id = launched_campaign(client, "Paused one", contact_count=1)
    browser = signed_in(service, client.api_key)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))

    html = browser.get(f"/console/campaigns/{campaign_id}").text
    assert 'data-testid="campaign-status">PAUSED<' in html
    assert '<span class="pause" data-testid="campaign-pause">paused by user</span>' in html
    client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))
    assert 'data-testid="campaign-pause"' not in browser.get(f"/console/campaigns/{campaign_id}").text
