"""Property: what a launch reserves equals a brute-force count over the audience, on real PostgreSQL.

Random contacts (email, phone, both), spread over overlapping lead groups, some of their
addresses suppressed, and random steps: the estimate a DRAFT shows and the credits the launch
reserves both equal the sum over steps of the contacts eligible for the step's channel, where a
contact in two groups counts once and a suppressed address never counts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.credit_ledger import Plan
from tests.api.api_support import service_on_own_database
from tests.support import Client

contact = st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()).filter(lambda c: c[0] or c[1])
audiences = st.lists(st.tuples(contact, st.sets(st.integers(0, 2), min_size=1)), min_size=1, max_size=12)
step_counts = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)).filter(lambda c: sum(c) > 0)
STEP = {
    "EMAIL": {"type": "EMAIL", "subject": "s", "body": "b"},
    "SMS": {"type": "SMS", "body": "b"},
    "VOICEMAIL": {"type": "VOICEMAIL", "audio_url": "https://brand.example/a.mp3"},
}


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, roles=("projector",)) as running:
        yield running


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(audience=audiences, counts=step_counts)
def test_launch_reserves_exactly_the_brute_force_cost(service, audience, counts):
    client = Client(service, Plan.PREMIUM)
    client.sender("email", "sales@brand.example")
    client.sender("sms", "+14155550000")
    client.sender("voice", "+14155550001")
    groups = [client.ok(client.post("/v1/lead-groups", {"name": f"g{i}"}), 201)["id"] for i in range(3)]
    expected = {"EMAIL": 0, "SMS": 0, "VOICEMAIL": 0}
    for i, ((has_email, has_phone, email_suppressed, phone_suppressed), member_of) in enumerate(audience):
        row = {
            "email": f"c{i}@example.com" if has_email else None,
            "phone": f"+1415555{i:04d}" if has_phone else None,
        }
        for group in member_of:
            client.ok(client.post(f"/v1/lead-groups/{groups[group]}/contacts", {"contacts": [row]}))
        if has_email and email_suppressed:
            client.ok(client.post("/v1/suppressions", {"address": row["email"], "reason": "test"}), 201)
        if has_phone and phone_suppressed:
            client.ok(client.post("/v1/suppressions", {"address": row["phone"], "reason": "test"}), 201)
        expected["EMAIL"] += has_email and not email_suppressed
        expected["SMS"] += has_phone and not phone_suppressed
        expected["VOICEMAIL"] += has_phone and not phone_suppressed
    steps = [
        {**STEP[kind], "group": 0}
        for kind, count in zip(("EMAIL", "SMS", "VOICEMAIL"), counts, strict=True)
        for _ in range(count)
    ]
    cost = sum(
        count * expected[kind] for kind, count in zip(("EMAIL", "SMS", "VOICEMAIL"), counts, strict=True)
    )
    body = {"name": "property", "lead_group_ids": groups, "steps": steps}
    campaign_id = client.ok(client.post("/v1/campaign/", body), 201)["id"]

    assert client.ok(client.get(f"/v1/campaign/{campaign_id}"))["estimated_credits"] == cost
    launched = client.post(f"/v1/campaign/{campaign_id}/launch")
    if cost == 0:
        assert launched.status_code == 422  # nobody eligible for any step: the launch cannot run
    else:
        assert launched.status_code == 200, launched.text
        assert launched.json()["credits_reserved"] == cost
