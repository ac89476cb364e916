"""The campaign's `unsubscribed` metric counts the steps the contact's own opt-out took back (a
one-click unsubscribe, a STOP text), live and as of a moment; an operator's suppression withdraws
steps too, but is not an unsubscribe.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet

from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from domain.enrollment import Enrollment
from tests.support import Client, campaign_events, eventually, running_service

KEY = Fernet.generate_key().decode()
FIRST = {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello."}
LATER = [{"type": "EMAIL", "group": 1, "subject": "Re: Hi", "body": "Again."}]
PEOPLE = [{"email": "ada@example.com"}, {"email": "bo@example.com"}, {"email": "cy@example.com"}]


@pytest.fixture
def service(database_url: str) -> Iterator[Any]:
    with running_service(database_url, credentials_key=KEY) as container:
        yield container


def metrics(client: Client, campaign_id: str, **params: str) -> dict[str, Any]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}", params=params))["metrics"]


def test_a_one_click_unsubscribe_counts_its_withdrawn_steps_and_an_operator_suppression_does_not(service):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    campaign_id = client.campaign(client.lead_group(PEOPLE), [FIRST, *LATER])
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: metrics(client, campaign_id)["sent"]["email"] == 3)
    ada = next(
        c
        for c in service.db.fetch_all(
            "SELECT contact_id, email FROM launch_audiences WHERE campaign_id = %s", (UUID(campaign_id),)
        )
        if c["email"] == "ada@example.com"
    )
    token = service.parts.unsubscribe_tokens.token(
        UnsubscribeRequest(client.brand_id, UUID(campaign_id), ada["contact_id"], "ada@example.com")
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        client.http.post(f"/u/{token}", content="List-Unsubscribe=One-Click", headers=form).status_code == 200
    )
    client.ok(client.post("/v1/suppressions", {"address": "bo@example.com", "reason": "asked by phone"}), 201)

    withdrawn = eventually(
        lambda: len(w := campaign_events(service, campaign_id, Enrollment.StepWithdrawn)) == 2 and w
    )
    counted = eventually(lambda: (m := metrics(client, campaign_id))["cancelled"] == 2 and m)
    assert counted["unsubscribed"] == 1  # Ada's follow-up; Bo's was an operator's suppression
    after = max(e.timestamp for e in withdrawn)
    assert metrics(client, campaign_id, as_of=after.isoformat())["unsubscribed"] == 1
    assert metrics(client, campaign_id, as_of=datetime.now(UTC).isoformat())["cancelled"] == 2
