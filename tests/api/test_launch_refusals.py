"""Launches the service refuses, over HTTP on real PostgreSQL: short credits (402) and campaigns
that cannot run (422), and that a refused launch leaves everything as it was.

A launch costs one credit per sending step per eligible contact; asking for more than the brand's
balance is a 402 problem whose detail says how many credits are needed and how many are available,
and the campaign stays a DRAFT, the balance is untouched and nobody is enrolled or sent anything.
A campaign that cannot run (no sending steps, no eligible contact, no sender account for a channel
it uses) is a 422 problem listing every problem at once; fixing them makes the launch succeed.
"""

from __future__ import annotations

import re

from tests.api.api_support import (
    EMAIL_STEP,
    SMS_STEP,
    VOICEMAIL_STEP,
    assert_problem,
)
from tests.support import Client, contacts, credits_without_renewal, eventually

HUNDRED_EMAILS = [{"type": "EMAIL", "group": 0, "subject": f"Note {i}", "body": "Hello"} for i in range(100)]


def _launch_problem(client: Client, campaign_id: str, status: int) -> dict:
    return assert_problem(client.post(f"/v1/campaign/{campaign_id}/launch"), status)


def test_a_launch_costing_more_than_the_balance_is_a_402_that_changes_nothing(service):
    client = Client(service)  # basic plan: 1,000 credits
    client.sender("email", "sales@brand.example")
    group = client.lead_group(contacts(11, phones=False))
    expensive = client.campaign(group, HUNDRED_EMAILS, name="expensive")  # 11 x 100 = 1,100

    problem = _launch_problem(client, expensive, 402)
    assert "1100" in problem["detail"] and "1000" in problem["detail"], problem["detail"]

    detail = client.ok(client.get(f"/v1/campaign/{expensive}"))
    assert detail["status"] == "DRAFT"
    assert detail["launched_at"] is None
    assert detail["credits"]["reserved"] == 0
    assert credits_without_renewal(client.ok(client.get("/v1/credits"))) == {
        "plan": "basic",
        "balance": 1000,
        "reserved_outstanding": 0,
    }

    cheap = client.campaign(group, [EMAIL_STEP], name="cheap")
    launched = client.ok(client.post(f"/v1/campaign/{cheap}/launch"))
    assert launched == {"id": cheap, "status": "ACTIVE", "credits_reserved": 11}
    assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 11

    eventually(lambda: len(client.outbox(cheap)) == 11, timeout=30)
    assert client.outbox(expensive) == []
    detail = client.ok(client.get(f"/v1/campaign/{expensive}"))
    assert detail["status"] == "DRAFT"
    assert detail["metrics"]["enrolled"] == 0


def test_a_refused_launch_can_be_retried_once_the_audience_fits_the_balance(service):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    big = client.lead_group(contacts(11, phones=False))
    body = {"name": "grows", "lead_group_ids": [big], "steps": HUNDRED_EMAILS}
    too_big = client.ok(client.post("/v1/campaign/", body), 201)["id"]
    _launch_problem(client, too_big, 402)
    _launch_problem(client, too_big, 402)  # the refusal left no reservation behind

    small = client.lead_group(contacts(9, phones=False, start=100))
    # 99 of the emails a month after launch (nothing is due now; a campaign holds at most 100
    # steps, the wait included): 9 x 99 = 891.
    later = [{"type": "WAIT", "group": 1, "wait_days": 30}, *({**s, "group": 1} for s in HUNDRED_EMAILS[1:])]
    fits = client.campaign(small, later, name="fits")
    assert client.ok(client.post(f"/v1/campaign/{fits}/launch"))["credits_reserved"] == 891
    assert credits_without_renewal(client.ok(client.get("/v1/credits"))) == {
        "plan": "basic",
        "balance": 109,
        "reserved_outstanding": 891,
    }


def test_a_campaign_without_steps_or_audience_is_a_422_listing_both_problems(service):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    campaign_id = client.ok(client.post("/v1/campaign/", {"name": "empty"}), 201)["id"]

    problem = _launch_problem(client, campaign_id, 422)
    problems = problem["problems"]
    assert len(problems) == 2, problems
    assert any("step" in p for p in problems), problems
    assert any("eligible" in p for p in problems), problems
    assert all(p in problem["detail"] for p in problems)
    assert client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"] == "DRAFT"


def test_a_campaign_with_only_wait_steps_has_no_steps_that_send_and_cannot_run(service):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    group = client.lead_group(contacts(3))
    campaign_id = client.campaign(group, [{"type": "WAIT", "group": 0, "wait_days": 1}])

    problems = _launch_problem(client, campaign_id, 422)["problems"]
    assert any("step" in p for p in problems), problems
    assert client.ok(client.get("/v1/credits"))["balance"] == 1000


def test_every_reason_a_campaign_cannot_run_is_listed_at_once(service):
    client = Client(service)
    empty = client.ok(client.post("/v1/lead-groups", {"name": "nobody"}), 201)["id"]
    campaign_id = client.campaign(empty, [EMAIL_STEP, SMS_STEP, VOICEMAIL_STEP])

    problem = _launch_problem(client, campaign_id, 422)
    problems = problem["problems"]
    assert len(problems) == 4, problems
    assert sum("eligible" in p for p in problems) == 1, problems
    for channel in ("email", "sms", "voicemail"):
        assert sum(bool(re.search(rf"\b{channel}\b", p)) for p in problems) == 1, (channel, problems)

    assert client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"] == "DRAFT"
    assert client.ok(client.get("/v1/credits"))["balance"] == 1000


def test_only_the_channels_without_a_sender_account_are_listed_and_adding_one_lets_it_launch(
    service,
):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    group = client.lead_group(contacts(4))
    campaign_id = client.campaign(group, [EMAIL_STEP, SMS_STEP])

    problems = _launch_problem(client, campaign_id, 422)["problems"]
    assert len(problems) == 1 and "sms" in problems[0], problems

    client.sender("sms", "+14155550000")
    launched = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    assert launched == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": 8}


def test_contacts_without_a_phone_are_not_eligible_for_an_sms_only_campaign(service):
    client = Client(service)
    client.sender("sms", "+14155550000")
    group = client.lead_group(contacts(3, phones=False))
    campaign_id = client.campaign(group, [SMS_STEP])

    problems = _launch_problem(client, campaign_id, 422)["problems"]
    assert len(problems) == 1 and "eligible" in problems[0], problems
