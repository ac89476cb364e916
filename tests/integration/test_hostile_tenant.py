"""Whatever one brand sends, another brand's campaign turns out exactly as it would without it.

Hypothesis plays a hostile tenant: NUL characters, unpaired surrogates, huge numbers, huge lists,
deep nesting and wrong types, in every body the API takes, then launches what it could create.
Every answer it gets is a 4xx problem (never a 5xx), and a well-behaved brand running a campaign
at the same time gets the very outcome of a run with nobody else around.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import databases
from tests.support import Client, eventually, running_service

NASTY_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "", " ", "\u202e", "💥" * 300]),
    st.text(min_size=1, max_size=5).map(lambda t: t * 60_000),
)
NASTY_NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([2**31, 2**63, -1, 0, 10**9])
)
NASTY = st.recursive(
    st.one_of(NASTY_TEXT, NASTY_NUMBER, st.booleans(), st.none(), st.floats(allow_nan=True)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NASTY_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _step(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["EMAIL", "SMS", "VOICEMAIL", "WAIT", "FAX"]))
    return {
        "type": kind,
        "group": draw(st.one_of(st.integers(0, 3), NASTY_NUMBER)),
        "subject": draw(NASTY_TEXT),
        "body": draw(NASTY_TEXT),
        "wait_days": draw(st.one_of(st.integers(0, 2), NASTY_NUMBER)),
        "audio_url": draw(st.one_of(st.just("https://example.com/a.mp3"), NASTY_TEXT)),
    }


@st.composite
def hostile_requests(draw: st.DrawFn) -> list[tuple[str, str, Any]]:
    """(path, content type, body) posts of a careless or hostile tenant."""
    steps = draw(st.lists(st.builds(dict), max_size=0)) or [
        _step(draw) for _ in range(draw(st.integers(0, 3)))
    ]
    many = draw(st.sampled_from([0, 0, 101, 5001]))
    steps += [{"type": "WAIT", "group": 1, "wait_days": 365}] * many
    requests: list[tuple[str, str, Any]] = [
        ("/v1/campaign/", "json", {"name": draw(NASTY_TEXT), "steps": steps, "timezone": draw(NASTY_TEXT)}),
        ("/v1/lead-groups", "json", {"name": draw(NASTY_TEXT)}),
        (
            "/v1/sender-accounts",
            "json",
            {
                "channel": "email",
                "provider": "sandbox",
                "address": draw(st.one_of(st.just("h@hostile.example"), NASTY_TEXT)),
                "daily_limit": draw(st.one_of(st.integers(1, 5), NASTY_NUMBER)),
                "warmup": {
                    "enabled": True,
                    "start_limit": draw(NASTY_NUMBER),
                    "daily_increment": draw(NASTY_NUMBER),
                },
            },
        ),
        ("/v1/suppressions", "json", {"address": draw(NASTY_TEXT), "reason": draw(NASTY_TEXT)}),
        ("/v1/templates", "json", {"name": draw(NASTY_TEXT), "steps": steps}),
        ("/v1/campaign/", "json", draw(NASTY)),
    ]
    contacts = [
        {
            "email": draw(NASTY_TEXT),
            "first_name": draw(NASTY_TEXT),
            "fields": draw(NASTY),
            "timezone": draw(NASTY_TEXT),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    requests.append(("CONTACTS", "json", {"contacts": contacts}))
    csv_cell = draw(NASTY_TEXT).replace("\n", " ")
    requests.append(("CONTACTS", "csv", f"email,first_name\nann@example.com,{csv_cell}\n{csv_cell},x\n"))
    return draw(st.permutations(requests))


def _outcome(client: Client, campaign_id: str) -> dict[str, Any]:
    detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
    sent = sorted((m["channel"], m["to"], m["subject"], m["body"]) for m in client.outbox(campaign_id))
    return {
        "status": detail["status"],
        "metrics": detail["metrics"],
        "credits": detail["credits"],
        "sent": sent,
    }


def _well_behaved_campaign(client: Client) -> str:
    people = [
        {"email": f"p{i}@calm.example", "phone": f"+1415555{i:04d}", "first_name": f"P{i}"} for i in range(4)
    ]
    group = client.lead_group(people)
    client.sender("email", f"{uuid4().hex[:6]}@calm.example")
    client.sender("sms", "+14155550199")
    steps = [
        {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello"},
        {"type": "SMS", "group": 0, "body": "Hi {{first_name}}"},
    ]
    campaign = client.campaign(group, steps, name="calm")
    client.ok(client.post(f"/v1/campaign/{campaign}/launch"))
    return campaign


def _finished(client: Client, campaign_id: str) -> dict[str, Any]:
    """The outcome once the campaign completed and settlement released what it still held."""

    def settled() -> dict[str, Any] | None:
        outcome = _outcome(client, campaign_id)
        done = outcome["status"] == "COMPLETED" and outcome["credits"]["outstanding"] == 0
        return outcome if done else None

    return eventually(settled, timeout=60)


def _send(hostile: Client, path: str, kind: str, body: Any) -> None:
    if path == "CONTACTS":
        group = hostile.ok(hostile.post("/v1/lead-groups", {"name": "mine"}), 201)["id"]
        path = f"/v1/lead-groups/{group}/contacts"
    if kind == "csv":
        content, media = body.encode("utf-8", "surrogatepass"), "text/csv"
    else:
        content, media = json.dumps(body).encode(), "application/json"
    response = hostile.raw.post(path, content=content, headers={"content-type": media})
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text[:300]
    elif path == "/v1/campaign/":
        launched = hostile.raw.post(f"/v1/campaign/{response.json()['id']}/launch")  # run what got through
        assert launched.status_code < 500, launched.text[:300]


@pytest.fixture(scope="module")
def shared_service(server_url):
    template = databases.migrated_template(server_url)
    with (
        databases.own_database(server_url, template, prefix="test_hostile") as url,
        running_service(url) as service,
    ):
        calm = Client(service)
        baseline = _finished(calm, _well_behaved_campaign(calm))
        yield service, baseline


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=hostile_requests())
def test_a_hostile_tenant_changes_nothing_another_brand_sees_or_gets(shared_service, requests):
    service, baseline = shared_service
    hostile, calm = Client(service), Client(service)  # brands of their own for every example
    # Server errors come back as answers (the default client raises them into the test instead).
    hostile.raw = TestClient(service.http_app(), raise_server_exceptions=False, headers=hostile.http.headers)
    campaign = _well_behaved_campaign(calm)
    for path, kind, body in requests:
        _send(hostile, path, kind, body)
    outcome = _finished(calm, campaign)
    assert outcome == baseline
