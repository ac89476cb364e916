"""The credits page links each consumption to the steps it paid for: the campaign's sends in the
log positions it settled, a page of the console that lists them (a page at a time, with a next
link) with their total against the amount consumed; another brand's campaign's consumption is the
404 page."""

from __future__ import annotations

import re

import pytest

from api.console import credit_pages
from projections import consumption_steps
from tests.api.api_support import service_on_own_database
from tests.api.console_support import launched_campaign, signed_in
from tests.support import Client, eventually

LINK = re.compile(r'<a href="(/console/credits/consumptions/([^/"]+)/(\d+))">the (\d+) steps it paid for</a>')


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url) as running:
        yield running


def test_each_consumption_links_to_exactly_the_steps_it_paid_for(service):
    client = Client(service)
    campaign_id = launched_campaign(client, "Consumed hello", contact_count=3)
    browser = signed_in(service, client.api_key)

    def consumed() -> int:  # the settlement follows the log, the ledger entries read model too
        rows = client.ok(client.get("/v1/credits/ledger"))["items"]
        return sum(row["amount"] for row in rows if row["type"] == "consumed")

    assert eventually(lambda: consumed() == 3)
    links = LINK.findall(browser.get("/console/credits").text)
    assert links and all(campaign == campaign_id for _, campaign, _, _ in links)
    listed = []
    for path, _, _, count in links:
        html = browser.get(path).text
        rows = re.findall(
            r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>(\w+)</td><td>[^<]+</td><td>(\d+)</td><td>(\d+)</td></tr>",
            html,
        )
        assert len(rows) == int(count)
        amount = re.search(r'data-testid="consumed-amount">([\d,]+)<', html).group(1)
        assert re.search(rf'data-testid="steps-total">{amount} \(', html)
        assert "equal the amount consumed" in html
        listed.extend(rows)
    assert len(listed) == 3 and {channel for _, _, channel, _, _ in listed} == {"email"}
    assert len({contact for contact, *_ in listed}) == 3  # each contact's first email, once
    assert sum(int(credits) for *_, credits in listed) == 3

    other = signed_in(service, Client(service).api_key)
    assert other.get(links[0][0]).status_code == 404
    assert browser.get(f"/console/credits/consumptions/{campaign_id}/1").status_code == 404


def test_the_steps_a_consumption_paid_for_are_paged_with_a_next_link(service, monkeypatch):
    client = Client(service)
    campaign_id = launched_campaign(client, "Paged hello", contact_count=6)
    browser = signed_in(service, client.api_key)
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["consumed"] == 6)
    links = LINK.findall(browser.get("/console/credits").text)
    path, *_, most = max(links, key=lambda link: int(link[3]))
    assert int(most) >= 2, "the sends were settled one a batch: nothing to page"
    monkeypatch.setattr(credit_pages, "STEPS_PAGE", 1)
    # The total is summed a page at a time too: pages of one send, as a consumption of more sends
    # than a page holds is summed.
    monkeypatch.setattr(consumption_steps, "TOTAL_PAGE", 1)
    positions, url = [], path
    while url:
        html = browser.get(url).text
        positions.extend(re.findall(r"<td>(\d+)</td><td>\d+</td></tr>", html))
        found = re.search(r'<a href="([^"]+)">Next steps</a>', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert len(positions) <= 10, "the next link does not advance"
    total, count = re.search(r'data-testid="steps-total">([\d,]+) \((\d+) steps\)', html).groups()
    assert len(positions) == int(count) == int(most) == len(set(positions))
    assert positions == sorted(positions, key=int)
    amount = re.search(r'data-testid="consumed-amount">([\d,]+)<', html).group(1)
    assert total == amount and "equal the amount consumed" in html
