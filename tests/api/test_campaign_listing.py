"""Paging and filtering GET /v1/campaign/ over HTTP on real PostgreSQL.

The list answers `items` and `next_cursor`; following the cursor with a small `limit` visits every
campaign of the brand exactly once and ends with a null cursor; `?status=` keeps only campaigns in
that status, also across pages. A cursor the API never gave out is a 400 problem, not a server
error, whatever it decodes to.
"""

from __future__ import annotations

import base64

from tests.api.api_support import EMAIL_STEP, assert_problem, lenient
from tests.support import Client

SUMMARY_KEYS = {"id", "name", "status", "created_at", "launched_at", "metrics"}


def _create(client: Client, count: int) -> list[str]:
    return [
        client.ok(client.post("/v1/campaign/", {"name": f"campaign {i}", "steps": [EMAIL_STEP]}), 201)["id"]
        for i in range(count)
    ]


def _all_pages(client: Client, **params) -> tuple[list[list[dict]], list[str | None]]:
    pages, cursors, cursor = [], [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.ok(client.get("/v1/campaign/", params=query))
        assert set(page) >= {"items", "next_cursor"}
        pages.append(page["items"])
        cursors.append(page["next_cursor"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages, cursors
        assert len(pages) <= 10, "the cursor does not advance"


SERVICE_ROLES = ("projector",)  # these tests never launch


def test_following_next_cursor_visits_every_campaign_once_and_ends_with_null(service):
    client = Client(service)
    created = _create(client, 5)

    pages, cursors = _all_pages(client, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert all(cursors[:-1]) and cursors[-1] is None
    seen = [item["id"] for page in pages for item in page]
    assert sorted(seen) == sorted(created)
    assert all(set(item) >= SUMMARY_KEYS for page in pages for item in page)

    whole = client.ok(client.get("/v1/campaign/"))
    assert sorted(item["id"] for item in whole["items"]) == sorted(created)
    assert whole["next_cursor"] is None


def test_a_limit_equal_to_the_count_ends_on_that_page_or_an_empty_last_one(service):
    client = Client(service)
    created = _create(client, 4)
    pages, cursors = _all_pages(client, limit=2)
    assert sorted(item["id"] for page in pages for item in page) == sorted(created)
    assert cursors[-1] is None and sum(len(page) for page in pages) == 4


def test_the_status_filter_keeps_only_campaigns_in_that_status_across_pages(service):
    client = Client(service)
    created = _create(client, 5)
    archived = {created[1], created[3]}
    for campaign_id in archived:
        client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))

    drafts, _ = _all_pages(client, status="DRAFT", limit=2)
    draft_ids = [item["id"] for page in drafts for item in page]
    assert sorted(draft_ids) == sorted(set(created) - archived)
    assert all(item["status"] == "DRAFT" for page in drafts for item in page)

    only_archived = client.ok(client.get("/v1/campaign/", params={"status": "ARCHIVED"}))
    assert {item["id"] for item in only_archived["items"]} == archived
    assert only_archived["next_cursor"] is None
    assert client.ok(client.get("/v1/campaign/", params={"status": "ACTIVE"}))["items"] == []


def test_a_brand_lists_only_its_own_campaigns(service):
    first, second = Client(service), Client(service)
    mine = _create(first, 3)
    theirs = _create(second, 2)
    pages, _ = _all_pages(first, limit=2)
    assert sorted(item["id"] for page in pages for item in page) == sorted(mine)
    pages, _ = _all_pages(second, limit=1)
    assert sorted(item["id"] for page in pages for item in page) == sorted(theirs)


def test_a_garbage_cursor_is_a_400_problem(service):
    client = Client(service)
    _create(client, 1)
    for cursor in ("garbage", "!!!", "%%%", "é"):
        assert_problem(client.get("/v1/campaign/", params={"cursor": cursor}), 400)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_a_well_encoded_cursor_the_api_never_gave_out_is_a_400_problem(service):
    client = Client(service)
    _create(client, 1)
    http = lenient(client)
    for cursor in (
        _b64('{"a": 1}'),
        _b64("5"),
        _b64('["x", "y"]'),
        _b64('["2024-01-01T00:00:00+00:00", "not-a-uuid"]'),
    ):
        assert_problem(http.get("/v1/campaign/", params={"cursor": cursor}), 400)


def test_an_unknown_status_filter_is_a_422_problem_naming_the_statuses(service):
    client = Client(service)
    problem = assert_problem(lenient(client).get("/v1/campaign/", params={"status": "LIVE"}), 422)
    assert problem["errors"] == [
        {
            "field": "query.status",
            "error": "Input should be 'DRAFT', 'ACTIVE', 'PAUSED', 'COMPLETED' or 'ARCHIVED'",
        }
    ]
