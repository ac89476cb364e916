"""A forged `cursor` on any paged list is a 400 problem, never a server error, whatever it decodes to.

Every list the API pages is tried with cursors that are well-formed base64url but decode to what no
page ever handed out: a key holding a NUL or an unpaired surrogate (which PostgreSQL's text cannot
hold), a key or a log position too large for its column, and bytes that are not base64 text at
all. A cursor longer than any the API hands out is refused at the door (422, naming the field).
A long, non-ASCII address on a page's edge still gives a cursor that leads to the next page.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.api_support import EMAIL_STEP, assert_problem, lenient
from tests.support import Client, contacts

SERVICE_ROLES = ("projector",)  # nothing here is launched
LISTS = [
    "/v1/campaign/",
    "/v1/lead-groups",
    "/v1/sender-accounts",
    "/v1/templates",
    "/v1/suppressions",
    "/v1/credits/ledger",
    "/v1/campaign/{campaign}/executions",
    "/v1/campaign/{campaign}/leads",
    "/v1/campaign/{campaign}/events",
]
WHEN = "2026-01-01T00:00:00+00:00"


def _b64(decoded: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode()


FORGED = {
    "NUL in the key": _b64([WHEN, "a\u0000b"]),
    "lone surrogate in the key": _b64([WHEN, "a\ud800b"]),
    "NUL in the time": _b64(["2026-01-01T00:00:00\u0000", "a"]),
    "a huge number as the key": _b64([WHEN, 10**300]),
    "a huge position": _b64(10**300),
    "a position past the log's bigint": _b64(2**63),
    "a NUL as the position": _b64("\u0000"),
    "a time without a zone": _b64(["2026-01-01T00:00:00", "a"]),
    "garbage base64": "____",
    "base64 missing its padding": "a",
    "not JSON": base64.urlsafe_b64encode(b"\x00\x01\xff").decode(),
}


@pytest.fixture(scope="module")
def campaign_client(service):
    client = Client(service)
    group = client.lead_group(contacts(1))
    return client, client.campaign(group, [EMAIL_STEP])


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_cursor_is_a_400_problem_on_every_list(campaign_client, path, forged):
    client, campaign = campaign_client
    answer = lenient(client).get(path.format(campaign=campaign), params={"cursor": forged})
    problem = assert_problem(answer, 400)
    assert (problem["title"], problem["detail"]) == (
        "Invalid cursor",
        "the cursor is not one this API handed out",
    )


@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_longer_than_any_handed_out_is_refused_naming_the_field(campaign_client, path):
    client, campaign = campaign_client
    huge = _b64([WHEN, "a" * 5000])
    problem = assert_problem(
        lenient(client).get(path.format(campaign=campaign), params={"cursor": huge}), 422
    )
    assert "query.cursor" in {error["field"] for error in problem["errors"]}


def test_a_long_non_ascii_address_on_a_page_edge_leads_to_the_next_page(service):
    client = Client(service)
    longest = [f"{'é' * 60}{n}@{'ü' * 60}.{'x' * 60}.{'ß' * 60}.example" for n in range(3)]
    for address in longest:
        client.ok(client.post("/v1/suppressions", {"address": address, "reason": "asked"}), 201)
    seen, cursor = [], None
    for _ in range(len(longest)):
        page = client.ok(
            client.get("/v1/suppressions", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        )
        seen += [item["address"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(longest) and cursor is None
