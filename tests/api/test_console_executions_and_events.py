"""The console campaign page's two long lists, read as a browser reads them: the step executions and
the events, fifty to a page, each page's "Next" link showing the rest and the last page offering
none, now and as of a moment; a cursor the console did not hand out shows the first page; the
executions filtered by contact and by status, now and as of a moment.

One campaign of two emails to 26 contacts: 52 executions (each contact's first email sent, its
second pending) and well over fifty events.
"""

from __future__ import annotations

import html as markup
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.console_support import launched_campaign, signed_in
from tests.support import Client, eventually

CONTACTS = 26
FUTURE = "2999-01-01T00:00:00Z"  # as of a moment after everything: the executions rebuilt from events
EXECUTION = re.compile(
    r"<tr><td>([0-9a-f-]{36})</td><td>([^<]*)</td><td>(?:EMAIL|SMS|VOICEMAIL)</td><td>(\w+)</td>"
)
EVENT = re.compile(r"<tr><td>(\d+)</td><td>(\w+)</td>")


@pytest.fixture(scope="module")
def campaign(service) -> tuple[str, TestClient]:
    client = Client(service)
    campaign_id = launched_campaign(client, "Big hello", contact_count=CONTACTS)
    browser = signed_in(service, client.api_key)

    def every_first_email_shown_sent() -> bool:  # the StepExecutions read model follows the log
        shown = [
            len(_executions(browser, campaign_id, status=status))
            for status in ("pending", "sent", "delivered")
        ]
        return shown[0] == CONTACTS and shown[1] + shown[2] == CONTACTS

    eventually(every_first_email_shown_sent)
    return campaign_id, browser


def _next(html: str, label: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)">{label}</a>', html)
    return markup.unescape(found.group(1)) if found else None


def _executions(browser: TestClient, campaign_id: str, **params: str) -> list[tuple[str, str, str]]:
    return EXECUTION.findall(browser.get(f"/console/campaigns/{campaign_id}", params=params).text)


@pytest.mark.parametrize("as_of", ["", FUTURE], ids=["now", "as-of-a-moment"])
def test_the_executions_come_fifty_to_a_page_and_the_next_link_shows_the_rest(campaign, as_of):
    campaign_id, browser = campaign
    first = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": as_of}).text
    link = _next(first, "Next executions")
    assert len(EXECUTION.findall(first)) == 50 and link
    second = browser.get(link).text
    assert len(EXECUTION.findall(second)) == 2 and _next(second, "Next executions") is None
    shown = {(contact, step) for contact, step, _ in EXECUTION.findall(first) + EXECUTION.findall(second)}
    assert len(shown) == 2 * CONTACTS  # every execution once


def test_the_executions_as_of_a_moment_are_the_executions_now(campaign):
    campaign_id, browser = campaign
    now = _executions(browser, campaign_id, status="pending")
    then = _executions(browser, campaign_id, status="pending", as_of=FUTURE)
    assert len(now) == CONTACTS and sorted(then) == sorted(now)


def test_a_page_that_ends_on_the_last_execution_offers_no_next_one(campaign):
    campaign_id, browser = campaign
    html = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": FUTURE, "cursor": "2"}).text
    assert len(EXECUTION.findall(html)) == 50 and _next(html, "Next executions") is None


@pytest.mark.parametrize("as_of", ["", FUTURE], ids=["now", "as-of-a-moment"])
def test_the_executions_filter_by_contact_and_by_status(campaign, as_of):
    campaign_id, browser = campaign
    everyone = _executions(browser, campaign_id, as_of=as_of)
    contact = everyone[-1][0]
    theirs = _executions(browser, campaign_id, as_of=as_of, contact=contact)
    assert len(theirs) == 2 and {row[0] for row in theirs} == {contact}
    assert {row[2] for row in theirs} - {"pending"}  # their first email, sent (or delivered)
    pending = _executions(browser, campaign_id, as_of=as_of, status="pending")
    assert len(pending) == CONTACTS and {row[2] for row in pending} == {"pending"}
    their_pending = _executions(browser, campaign_id, as_of=as_of, contact=contact, status="pending")
    assert [(row[0], row[2]) for row in their_pending] == [(contact, "pending")]


def test_a_cursor_the_console_did_not_hand_out_shows_the_first_page(campaign):
    campaign_id, browser = campaign
    first = browser.get(f"/console/campaigns/{campaign_id}").text
    forged = browser.get(
        f"/console/campaigns/{campaign_id}", params={"cursor": "forged", "events_cursor": "forged"}
    ).text
    assert EXECUTION.findall(forged) == EXECUTION.findall(first)
    assert EVENT.findall(forged) == EVENT.findall(first) and len(EVENT.findall(first)) == 50
    then = _executions(browser, campaign_id, as_of=FUTURE)
    assert _executions(browser, campaign_id, as_of=FUTURE, cursor="forged") == then
    pending = _executions(browser, campaign_id, status="pending")  # the filters kept
    assert _executions(browser, campaign_id, status="pending", cursor="forged") == pending
    theirs = _executions(browser, campaign_id, contact=pending[0][0])
    assert _executions(browser, campaign_id, contact=pending[0][0], cursor="forged") == theirs


@pytest.mark.parametrize("as_of", ["", FUTURE], ids=["now", "as-of-a-moment"])
def test_the_events_come_fifty_to_a_page_in_order_and_the_next_link_shows_the_next(campaign, as_of):
    campaign_id, browser = campaign
    first = browser.get(f"/console/campaigns/{campaign_id}", params={"as_of": as_of}).text
    link = _next(first, "Next events")
    positions = [int(position) for position, _ in EVENT.findall(first)]
    assert len(positions) == 50 and positions == sorted(positions) and link
    following = [int(position) for position, _ in EVENT.findall(browser.get(link).text)]
    assert following and min(following) > max(positions)
