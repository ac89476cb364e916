"""A campaign's executions, leads and events, and the brand's credit ledger, over HTTP.

Each list pages with `next_cursor` (every row once, null at the end), filters as documented, shows
only the caller's brand (another brand's campaign is a 404 like an unknown id), refuses bad query
values as 422 problems and a forged cursor as a 400.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import pytest

from domain.enrollment import Enrollment
from tests.api.api_support import assert_problem
from tests.support import Client, contacts, eventually

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
FAILING = {"email": "fail-permanent@example.com", "first_name": "Fay"}
EXECUTION_KEYS = {
    "contact_id",
    "step_id",
    "type",
    "status",
    "sender_account_id",
    "provider_message_id",
    "scheduled_for",
    "sent_at",
    "opened_at",
    "replied_at",
    "error",
}
ROUTES = ("executions", "leads", "events")


def _pages(client: Client, path: str, **params) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        page = client.ok(client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
        assert set(page) == {"items", "next_cursor"}
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) <= 50, "the cursor does not advance"


def _items(client: Client, path: str, **params) -> list[dict]:
    return [item for page in _pages(client, path, **params) for item in page]


@pytest.fixture(scope="module")
def running(service) -> tuple[Client, str, dict[str, str]]:
    """A brand's campaign to three contacts and one whose email fails, its first group done."""
    client = Client(service)
    client.sender("email", "sales@brand.example")
    client.sender("sms", "+14155550000")
    group = client.lead_group([*contacts(3), FAILING])
    campaign_id = client.campaign(group, STEPS)
    steps = client.ok(client.get(f"/v1/campaign/{campaign_id}"))["steps"]
    ids = {f"{s['type']}{s['group']}": s["id"] for s in steps}
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

    def first_group_done() -> bool:
        rows = _items(client, f"/v1/campaign/{campaign_id}/executions", limit=500)
        outcomes = [r["status"] for r in rows if r["step_id"] != ids["EMAIL1"]]
        return len(rows) == 11 and sorted(outcomes) == ["failed"] + ["sent"] * 6

    eventually(first_group_done)
    return client, campaign_id, ids


def test_executions_page_through_every_step_of_every_contact_once(running):
    client, campaign_id, ids = running
    pages = _pages(client, f"/v1/campaign/{campaign_id}/executions", limit=4)
    assert [len(page) for page in pages] == [4, 4, 3]
    rows = [row for page in pages for row in page]
    assert all(set(row) >= EXECUTION_KEYS for row in rows)
    assert len({(row["contact_id"], row["step_id"]) for row in rows}) == 11
    assert sorted(row["type"] for row in rows) == ["EMAIL"] * 8 + ["SMS"] * 3
    follow_ups = [row for row in rows if row["step_id"] == ids["EMAIL1"]]
    assert len(follow_ups) == 4 and all(r["status"] == "pending" and r["scheduled_for"] for r in follow_ups)


def test_the_execution_filters_keep_only_that_status_and_that_contact(running):
    client, campaign_id, ids = running
    path = f"/v1/campaign/{campaign_id}/executions"
    sent = _items(client, path, status="sent", limit=2)
    assert len(sent) == 6 and all(r["status"] == "sent" for r in sent)
    assert all(r["provider_message_id"] and r["sender_account_id"] and r["sent_at"] for r in sent)
    (failed,) = _items(client, path, status="failed")
    assert failed["step_id"] == ids["EMAIL0"] and failed["error"] and failed["sent_at"] is None
    contact = failed["contact_id"]
    mine = _items(client, path, contact_id=contact)
    assert {(r["step_id"], r["status"]) for r in mine} == {
        (ids["EMAIL0"], "failed"),
        (ids["EMAIL1"], "pending"),
    }
    assert _items(client, path, contact_id=contact, status="sent") == []
    assert _items(client, path, contact_id=str(uuid4())) == []


def test_leads_list_each_contact_with_its_group_and_when_it_is_due(running):
    client, campaign_id, _ = running
    pages = _pages(client, f"/v1/campaign/{campaign_id}/leads", limit=3)
    assert [len(page) for page in pages] == [3, 1]
    leads = [lead for page in pages for lead in page]
    assert len({lead["contact_id"] for lead in leads}) == 4
    for lead in leads:
        assert set(lead) == {"contact_id", "state", "current_group", "next_due_at", "replied", "unsubscribed"}
        assert (lead["state"], lead["current_group"], lead["replied"], lead["unsubscribed"]) == (
            "active",
            1,
            False,
            False,
        )
        datetime.fromisoformat(lead["next_due_at"])


def test_the_ledger_lists_the_brands_entries_with_the_balance_after_each(running):
    client, campaign_id, _ = running

    def settled() -> list[dict]:
        rows = _items(client, "/v1/credits/ledger", limit=2)
        done = sum(r["amount"] for r in rows if r["type"] in ("consumed", "released")) == 7
        return rows if done else []

    rows = eventually(settled)
    assert [(r["type"], r["amount"], r["balance_after"], r["campaign_id"]) for r in rows[:2]] == [
        ("granted", 1000, 1000, None),
        ("reserved", 11, 989, campaign_id),
    ]
    assert rows[0]["reason"] == "plan basic"
    positions = [r["position"] for r in rows]
    assert positions == sorted(set(positions))
    assert rows[-1]["balance_after"] == client.ok(client.get("/v1/credits"))["balance"] == 990

    other = Client(client.container)
    assert [(r["type"], r["balance_after"]) for r in _items(other, "/v1/credits/ledger")] == [
        ("granted", 1000)
    ]


def test_events_list_the_campaign_and_its_enrollments_in_log_order(running):
    client, campaign_id, _ = running
    events = _items(client, f"/v1/campaign/{campaign_id}/events", limit=7)
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions))
    assert (events[0]["type"], events[0]["aggregate_id"], events[0]["version"]) == (
        "CampaignCreated",
        campaign_id,
        1,
    )
    assert events[0]["data"]["name"] == "Q4 outreach" and "originator_id" not in events[0]["data"]
    types = [e["type"] for e in events]
    assert types.count("CampaignLaunched") == 1 and types.count("ContactEnrolled") == 4
    assert types.count("StepSent") == 6 and types.count("StepFailed") == 1
    leads = _items(client, f"/v1/campaign/{campaign_id}/leads")
    enrollments = {str(Enrollment.create_id(UUID(campaign_id), UUID(lead["contact_id"]))) for lead in leads}
    assert {e["aggregate_id"] for e in events} == enrollments | {campaign_id}
    sent = next(e for e in events if e["type"] == "StepSent")
    assert sent["data"]["personalisation"] == "template" and sent["data"]["campaign_id"] == campaign_id
    for event in events:
        assert datetime.fromisoformat(event["occurred_at"]).utcoffset() is not None
    versions: dict[str, int] = {}
    for event in events:  # each aggregate's versions rise one by one in log order
        assert event["version"] == versions.get(event["aggregate_id"], 0) + 1
        versions[event["aggregate_id"]] = event["version"]


@pytest.mark.parametrize("route", ROUTES)
def test_another_brands_campaign_is_not_found_like_an_unknown_one(running, route):
    client, campaign_id, _ = running
    other = Client(client.container)
    theirs = assert_problem(other.get(f"/v1/campaign/{campaign_id}/{route}"), 404)
    unknown = assert_problem(other.get(f"/v1/campaign/{uuid4()}/{route}"), 404)
    assert theirs["title"] == unknown["title"] == "Not found"


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("executions", {"status": "SENT-ish"}, "query.status"),
        ("executions", {"contact_id": "not-a-uuid"}, "query.contact_id"),
        ("executions", {"limit": 0}, "query.limit"),
        ("leads", {"limit": 501}, "query.limit"),
        ("events", {"limit": "many"}, "query.limit"),
        ("ledger", {"limit": -1}, "query.limit"),
    ],
)
def test_bad_query_values_are_422_problems_naming_the_field(running, route, params, field):
    client, campaign_id, _ = running
    path = "/v1/credits/ledger" if route == "ledger" else f"/v1/campaign/{campaign_id}/{route}"
    problem = assert_problem(client.get(path, params=params), 422)
    assert field in [error["field"] for error in problem["errors"]]


@pytest.mark.parametrize("route", [*ROUTES, "ledger"])
def test_a_cursor_the_api_did_not_hand_out_is_a_400(running, route):
    client, campaign_id, _ = running
    path = "/v1/credits/ledger" if route == "ledger" else f"/v1/campaign/{campaign_id}/{route}"
    for forged in ("bm9wZQ==", "WzEsIDJd", "LTE="):  # "nope", "[1, 2]", "-1"
        assert_problem(client.get(path, params={"cursor": forged}), 400)
