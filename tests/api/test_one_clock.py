"""One clock: every time the service reports is the time of an event, read off the service's clock,
and `?as_of=` that very time (as reported, fed straight back) shows the change made then.

The service runs with the dev clock, which is moved days ahead, so an event stamped by any other
clock (the machine's wall clock, which eventsourcing would use) would show. A campaign's
`created_at` shows it DRAFT, its `launched_at` ACTIVE, the time of its pause PAUSED, of its resume
ACTIVE, its `completed_at` COMPLETED and its `archived_at` ARCHIVED, while a microsecond earlier
shows the state before; the credit ledger's entries, the executions and the events route give
the same times; and a property test checks it for any sequence of commands and clock moves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runtime.roles import IN_PROCESS
from tests.api.api_support import service_on_own_database
from tests.support import Client, contacts, eventually

DAY = 86_400
MICROSECOND = timedelta(microseconds=1)
TWO_DAYS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
A_YEAR = [  # its second email is a year away: no clock move here completes it
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 365, "subject": "Again", "body": "Hello again"},
]


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, IN_PROCESS, dev_clock=True) as running:
        yield running


@pytest.fixture(scope="module")
def brand(service) -> tuple[Client, str]:
    """A brand with a mailbox and a lead group of one contact."""
    client = Client(service)
    client.sender("email", "sales@brand.example")
    return client, client.lead_group(contacts(1, phones=False))


def _advance(client: Client, seconds: float) -> None:
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": seconds}))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _status_as_of(client: Client, campaign_id: str, moment: str | datetime) -> str | None:
    """The campaign's status at `moment` (a reported time is passed on exactly as reported);
    None where it did not exist yet."""
    as_of = moment if isinstance(moment, str) else moment.isoformat()
    response = client.get(f"/v1/campaign/{campaign_id}", params={"as_of": as_of})
    if response.status_code == 404:
        return None
    return str(client.ok(response)["status"])


def _events(client: Client, campaign_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.ok(
            client.get(f"/v1/campaign/{campaign_id}/events", params={"cursor": cursor} if cursor else {})
        )
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def _campaign_events(client: Client, campaign_id: str) -> list[dict[str, Any]]:
    return [e for e in _events(client, campaign_id) if e["aggregate_id"] == campaign_id]


def _occurred(client: Client, campaign_id: str, kind: str) -> str:
    [event] = [e for e in _campaign_events(client, campaign_id) if e["type"] == kind]
    return str(event["occurred_at"])


def _detail(client: Client, campaign_id: str) -> dict[str, Any]:
    return dict(client.ok(client.get(f"/v1/campaign/{campaign_id}")))


def test_as_of_each_time_a_campaign_reports_shows_the_change_made_then(brand):
    client, group = brand
    _advance(client, DAY)  # the service's clock is a day ahead of the machine's from here on
    campaign_id = client.campaign(group, TWO_DAYS)
    created_at = _detail(client, campaign_id)["created_at"]
    assert _at(created_at) > datetime.now(UTC) + timedelta(hours=23)
    assert _status_as_of(client, campaign_id, created_at) == "DRAFT"
    assert _status_as_of(client, campaign_id, _at(created_at) - MICROSECOND) is None

    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    launched_at = _detail(client, campaign_id)["launched_at"]
    assert _status_as_of(client, campaign_id, launched_at) == "ACTIVE"
    assert _status_as_of(client, campaign_id, _at(launched_at) - MICROSECOND) == "DRAFT"

    client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
    paused_at = _occurred(client, campaign_id, "CampaignPaused")
    assert _status_as_of(client, campaign_id, paused_at) == "PAUSED"
    assert _status_as_of(client, campaign_id, _at(paused_at) - MICROSECOND) == "ACTIVE"

    client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))
    resumed_at = _occurred(client, campaign_id, "CampaignResumed")
    assert _status_as_of(client, campaign_id, resumed_at) == "ACTIVE"
    assert _status_as_of(client, campaign_id, _at(resumed_at) - MICROSECOND) == "PAUSED"

    eventually(lambda: _detail(client, campaign_id)["metrics"]["sent"]["email"] == 1)
    _advance(client, 2 * DAY)  # the second email falls due, goes out, and the campaign completes
    completed = eventually(lambda: (d := _detail(client, campaign_id))["status"] == "COMPLETED" and d)
    completed_at = completed["completed_at"]
    assert _at(completed_at) > datetime.now(UTC) + timedelta(days=2, hours=23)
    assert _status_as_of(client, campaign_id, completed_at) == "COMPLETED"
    assert _status_as_of(client, campaign_id, _at(completed_at) - MICROSECOND) == "ACTIVE"

    client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
    archived_at = _detail(client, campaign_id)["archived_at"]
    assert _status_as_of(client, campaign_id, archived_at) == "ARCHIVED"
    assert _status_as_of(client, campaign_id, _at(archived_at) - MICROSECOND) == "COMPLETED"

    # The resource's times are its events' own.
    occurred = {e["type"]: _at(e["occurred_at"]) for e in _campaign_events(client, campaign_id)}
    reported = _detail(client, campaign_id)
    assert occurred == {
        "CampaignCreated": _at(reported["created_at"]),
        "CampaignLaunched": _at(reported["launched_at"]),
        "CampaignPaused": _at(paused_at),
        "CampaignResumed": _at(resumed_at),
        "CampaignCompleted": _at(reported["completed_at"]),
        "CampaignArchived": _at(reported["archived_at"]),
    }


def test_the_ledger_the_executions_and_the_events_route_tell_the_same_times(brand):
    client, group = brand
    _advance(client, DAY)
    campaign_id = client.campaign(group, A_YEAR)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: _detail(client, campaign_id)["credits"]["consumed"] == 1)
    launched_at = _at(_detail(client, campaign_id)["launched_at"])
    assert launched_at > datetime.now(UTC) + timedelta(hours=23)

    ledger = client.ok(client.get("/v1/credits/ledger", params={"limit": 200}))["items"]
    entries = {e["type"]: e for e in ledger if e["campaign_id"] == campaign_id}
    assert _at(entries["reserved"]["occurred_at"]) == launched_at  # reserved in the launch's own write
    events = _events(client, campaign_id)
    assert _at(_occurred(client, campaign_id, "CampaignLaunched")) == launched_at

    [sent] = [e for e in events if e["type"] == "StepSent"]
    [execution] = [
        e
        for e in client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]
        if e["status"] == "sent"
    ]
    assert _at(execution["sent_at"]) == _at(sent["occurred_at"]) > launched_at
    # As of the send's own time the send is counted, a microsecond before it is not.
    at_send = client.ok(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": sent["occurred_at"]}))
    before = _at(sent["occurred_at"]) - MICROSECOND
    just_before = client.ok(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": before.isoformat()}))
    assert (at_send["metrics"]["sent"]["email"], just_before["metrics"]["sent"]["email"]) == (1, 0)
    # As of the settlement's ledger entry its credit is consumed.
    consumed_at = entries["consumed"]["occurred_at"]
    settled = client.ok(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": consumed_at}))
    assert settled["credits"]["consumed"] == 1
    assert _at(consumed_at) > datetime.now(UTC) + timedelta(hours=23)


# The campaign's status after each command, from each status; a command missing is refused (409).
TRANSITIONS = {
    "launch": {"DRAFT": "ACTIVE"},
    "pause": {"ACTIVE": "PAUSED"},
    "resume": {"PAUSED": "ACTIVE"},
    "archive": {"DRAFT": "ARCHIVED", "ACTIVE": "ARCHIVED", "PAUSED": "ARCHIVED", "COMPLETED": "ARCHIVED"},
}
KIND = {
    "CampaignCreated": "create",
    "CampaignLaunched": "launch",
    "CampaignPaused": "pause",
    "CampaignResumed": "resume",
    "CampaignArchived": "archive",
}
ADVANCE = st.integers(min_value=1, max_value=3 * 3600)  # move the service's clock this many seconds


def _next_step(data: st.DataObject, status: str) -> str | int:
    """A clock move, a command that moves the status on short of archiving it (most often, so
    pauses and resumes come about), or any command (archive; a refused one changes nothing)."""
    onward = sorted(c for c, moves in TRANSITIONS.items() if status in moves and c != "archive")
    forward = st.sampled_from(onward) if onward else st.nothing()
    return data.draw(st.one_of(ADVANCE, forward, forward, st.sampled_from(sorted(TRANSITIONS))))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_as_of_at_each_reported_time_shows_the_state_right_after_that_change(brand, data):
    client, group = brand
    campaign_id = client.campaign(group, A_YEAR)
    status, made, after = "DRAFT", ["create"], ["DRAFT"]  # each change made, the status after it
    for _ in range(data.draw(st.integers(min_value=0, max_value=8), label="steps")):
        step = _next_step(data, status)
        if isinstance(step, int):
            _advance(client, step)
            continue
        response = client.post(f"/v1/campaign/{campaign_id}/{step}")
        if status in TRANSITIONS[step]:
            client.ok(response)
            status = TRANSITIONS[step][status]
            made.append(step)
            after.append(status)
        else:
            assert response.status_code == 409, response.text

    event(" -> ".join(after))
    changes = _campaign_events(client, campaign_id)
    assert [KIND[change["type"]] for change in changes] == made
    before: str | None = None  # before the campaign was created: not found
    for change, expected in zip(changes, after, strict=True):
        assert _status_as_of(client, campaign_id, change["occurred_at"]) == expected
        assert _status_as_of(client, campaign_id, _at(change["occurred_at"]) - MICROSECOND) == before
        before = expected
    reported = _detail(client, campaign_id)
    occurred = {change["type"]: _at(change["occurred_at"]) for change in changes}
    for field, kind in (
        ("created_at", "CampaignCreated"),
        ("launched_at", "CampaignLaunched"),
        ("archived_at", "CampaignArchived"),
    ):
        assert (reported[field] and _at(reported[field])) == occurred.get(kind), field
