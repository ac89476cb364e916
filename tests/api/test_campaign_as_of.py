"""`GET /v1/campaign/{id}?as_of=` rebuilds a campaign from its events as it stood at a past moment.

Before the campaign was created it is a 404; at its launch it is ACTIVE with its credits reserved
and nothing sent; after its sends and a pause it is PAUSED with the metrics and credits the live
read model shows. A time that is malformed or has no zone is a 422 problem naming `as_of`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api.api_support import assert_problem
from tests.support import Client, contacts, eventually

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
NOTHING_SENT = {"email": 0, "sms": 0, "voicemail": 0}


def _as_of(client: Client, campaign_id: str, moment: datetime):
    return client.get(f"/v1/campaign/{campaign_id}", params={"as_of": moment.isoformat()})


def _moment(events: list[dict], kind: str) -> datetime:
    return datetime.fromisoformat(next(e for e in events if e["type"] == kind)["occurred_at"])


@pytest.fixture(scope="module")
def paused(service) -> tuple[Client, str, dict]:
    """A campaign of two emails to three contacts: launched, its first emails sent and settled,
    then paused; with the live detail once settled."""
    client = Client(service)
    client.sender("email", "sales@brand.example")
    campaign_id = client.campaign(client.lead_group(contacts(3, phones=False)), STEPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

    def sent_and_settled() -> dict | None:
        detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
        return detail if detail["credits"]["consumed"] == 3 else None

    eventually(sent_and_settled)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
    return client, campaign_id, client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def test_before_the_campaign_was_created_it_is_not_found(paused):
    client, campaign_id, _ = paused
    events = client.ok(client.get(f"/v1/campaign/{campaign_id}/events"))["items"]
    created = _moment(events, "CampaignCreated")
    problem = assert_problem(_as_of(client, campaign_id, created - timedelta(microseconds=1)), 404)
    assert campaign_id in problem["detail"]
    assert client.ok(_as_of(client, campaign_id, created))["status"] == "DRAFT"


def test_at_its_launch_it_is_active_with_credits_reserved_and_nothing_sent(paused):
    client, campaign_id, live = paused
    events = client.ok(client.get(f"/v1/campaign/{campaign_id}/events"))["items"]
    launched = client.ok(_as_of(client, campaign_id, _moment(events, "CampaignLaunched")))
    assert launched["status"] == "ACTIVE"
    assert launched["launched_at"] == live["launched_at"] and launched["name"] == live["name"]
    assert launched["steps"] == live["steps"]
    assert launched["metrics"]["enrolled"] == 0 and launched["metrics"]["sent"] == NOTHING_SENT
    assert launched["credits"] == {"reserved": 6, "consumed": 0, "released": 0, "outstanding": 6}
    assert launched["estimated_credits"] is None


def test_after_its_sends_and_the_pause_it_matches_the_live_read_model(paused):
    client, campaign_id, live = paused
    now = client.ok(_as_of(client, campaign_id, datetime.now().astimezone()))
    assert now["status"] == "PAUSED" == live["status"]
    assert now["metrics"]["enrolled"] == 3 and now["metrics"]["sent"] == {
        "email": 3,
        "sms": 0,
        "voicemail": 0,
    }
    assert now["credits"] == {"reserved": 6, "consumed": 3, "released": 0, "outstanding": 3}
    assert now["metrics"] == live["metrics"] and now["credits"] == live["credits"]
    events = client.ok(client.get(f"/v1/campaign/{campaign_id}/events"))["items"]
    paused_at = _moment(events, "CampaignPaused")
    before_pause = client.ok(_as_of(client, campaign_id, paused_at - timedelta(microseconds=1)))
    assert before_pause["status"] == "ACTIVE" and before_pause["metrics"]["sent"]["email"] == 3


def test_another_brands_campaign_is_not_found_at_any_moment(paused):
    _, campaign_id, _ = paused
    other = Client(paused[0].container)
    assert_problem(_as_of(other, campaign_id, datetime.now().astimezone()), 404)


@pytest.mark.parametrize(
    "moment",
    ["yesterday", "2026-11-28T09:00:00", "2026-11-28", "1700000000", "2026-13-01T00:00:00Z", ""],
)
def test_a_malformed_time_or_one_without_a_zone_is_a_422(paused, moment):
    client, campaign_id, _ = paused
    problem = assert_problem(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": moment}), 422)
    assert [error["field"] for error in problem["errors"]] == ["query.as_of"]
