"""The campaign routes over HTTP: creating, reading, and moving a campaign through its lifecycle.

A new campaign is a DRAFT with its steps numbered in the order given within each group; launch
makes it ACTIVE, pause PAUSED, resume ACTIVE again and archive ARCHIVED, each answering 200 with the
new status, which a later GET shows. A transition the current status does not allow is a 409 problem
that changes nothing, and another brand's campaign does not exist for the caller: GET, launch,
pause, resume and archive all answer 404 and leave it untouched.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.api_support import EMAIL_STEP, assert_problem, launchable_campaign
from tests.support import Client, contacts

# Launches need only the read model kept up to date. With the senders and the follow-up processor
# running, a campaign of one email completes about a second after its launch, and a pause or
# resume that comes later (a slow moment on a busy machine) is a 409: nothing here may send.
SERVICE_ROLES = ("projector",)

METRICS = {
    "enrolled",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "failed",
    "unsubscribed",
    "cancelled",
}


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0), value
    return moment


def _status(client: Client, campaign_id: str) -> str:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"]


def test_a_created_campaign_is_a_draft_with_its_definition_defaults_and_steps_in_given_order(
    service,
):
    client = Client(service)
    group = client.lead_group(contacts(2))
    steps = [
        {"type": "EMAIL", "group": 1, "subject": "first of day 1", "body": "b"},
        {"type": "EMAIL", "group": 0, "subject": "first of day 0", "body": "b"},
        {"type": "SMS", "group": 1, "body": "second of day 1"},
        {"type": "SMS", "group": 0, "body": "second of day 0"},
        {"type": "WAIT", "group": 1, "wait_days": 2},
    ]
    body = {"name": "Q4 outreach", "lead_group_ids": [group], "steps": steps}
    created = client.ok(client.post("/v1/campaign/", body), 201)

    detail = client.ok(client.get(f"/v1/campaign/{created['id']}"))
    assert detail["id"] == created["id"]
    assert detail["name"] == "Q4 outreach"
    assert detail["status"] == "DRAFT"
    assert detail["audience_type"] == "leads"
    assert detail["ai_personalization"] is False
    assert detail["lead_group_ids"] == [group]
    assert detail["timezone"] == "UTC"
    window = detail["sending_window"]  # defaults to every day, all day
    assert set(window["days"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert (window["start"], window["end"]) == ("00:00", "24:00")
    assert detail["launched_at"] is None and detail["completed_at"] is None
    _utc(detail["created_at"])
    assert set(detail["metrics"]) == METRICS
    assert detail["metrics"]["enrolled"] == 0
    assert detail["metrics"]["sent"] == {"email": 0, "sms": 0, "voicemail": 0}
    assert detail["credits"] == {"reserved": 0, "consumed": 0, "released": 0, "outstanding": 0}

    by_group = {
        g: [
            (s["type"], s["order"], s.get("subject") or s.get("body"))
            for s in detail["steps"]
            if s["group"] == g
        ]
        for g in (0, 1)
    }
    assert sorted(by_group[0], key=lambda s: s[1]) == [
        ("EMAIL", 0, "first of day 0"),
        ("SMS", 1, "second of day 0"),
    ]
    assert sorted(by_group[1], key=lambda s: s[1]) == [
        ("EMAIL", 0, "first of day 1"),
        ("SMS", 1, "second of day 1"),
        ("WAIT", 2, None),
    ]
    assert len({step["id"] for step in detail["steps"]}) == 5


def test_launch_pause_resume_and_archive_answer_200_with_the_new_status(service):
    client = Client(service)
    campaign_id = launchable_campaign(client, contact_count=3)

    launched = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    assert launched == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": 3}
    detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
    assert detail["status"] == "ACTIVE"
    assert _utc(detail["launched_at"]) >= _utc(detail["created_at"])
    assert detail["credits"]["reserved"] == 3

    for action, status in [("pause", "PAUSED"), ("resume", "ACTIVE"), ("archive", "ARCHIVED")]:
        answer = client.ok(client.post(f"/v1/campaign/{campaign_id}/{action}"))
        assert answer == {"id": campaign_id, "status": status}, action
        assert _status(client, campaign_id) == status, action

    listed = client.ok(client.get("/v1/campaign/"))["items"]
    assert [(c["id"], c["status"]) for c in listed] == [(campaign_id, "ARCHIVED")]


def test_a_draft_and_a_paused_campaign_can_be_archived(service):
    client = Client(service)
    draft = client.ok(client.post("/v1/campaign/", {"name": "draft", "steps": [EMAIL_STEP]}), 201)["id"]
    paused = launchable_campaign(client, name="paused")
    client.ok(client.post(f"/v1/campaign/{paused}/launch"))
    client.ok(client.post(f"/v1/campaign/{paused}/pause"))

    for campaign_id in (draft, paused):
        answer = client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
        assert answer == {"id": campaign_id, "status": "ARCHIVED"}
        assert _status(client, campaign_id) == "ARCHIVED"


def test_transitions_the_status_does_not_allow_are_409_problems_that_change_nothing(service):
    client = Client(service)
    campaign_id = launchable_campaign(client, contact_count=2)

    for action in ("pause", "resume"):
        assert_problem(client.post(f"/v1/campaign/{campaign_id}/{action}"), 409)
    assert _status(client, campaign_id) == "DRAFT"

    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    for action in ("launch", "resume"):
        assert_problem(client.post(f"/v1/campaign/{campaign_id}/{action}"), 409)
    assert _status(client, campaign_id) == "ACTIVE"
    assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 2  # reserved once

    client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
    for action in ("launch", "pause"):
        assert_problem(client.post(f"/v1/campaign/{campaign_id}/{action}"), 409)
    assert _status(client, campaign_id) == "PAUSED"

    client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
    for action in ("launch", "pause", "resume"):
        assert_problem(client.post(f"/v1/campaign/{campaign_id}/{action}"), 409)
    assert _status(client, campaign_id) == "ARCHIVED"

    assert client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["reserved"] == 2


def test_another_brands_campaign_answers_404_to_every_route_and_is_left_untouched(service):
    owner, stranger = Client(service), Client(service)
    campaign_id = launchable_campaign(owner, contact_count=2)
    path = f"/v1/campaign/{campaign_id}"

    # Each route is tried while the owner could legally take it, so a 404 cannot hide a 409.
    assert_problem(stranger.get(path), 404)
    assert_problem(stranger.post(f"{path}/launch"), 404)
    assert_problem(stranger.post(f"{path}/launch", headers={"Idempotency-Key": "k"}), 404)
    assert_problem(stranger.post(f"{path}/archive"), 404)
    assert _status(owner, campaign_id) == "DRAFT"

    owner.ok(owner.post(f"{path}/launch"))
    assert_problem(stranger.post(f"{path}/pause"), 404)
    assert_problem(stranger.get(path), 404)
    assert _status(owner, campaign_id) == "ACTIVE"

    owner.ok(owner.post(f"{path}/pause"))
    assert_problem(stranger.post(f"{path}/resume"), 404)
    assert_problem(stranger.post(f"{path}/archive"), 404)
    assert _status(owner, campaign_id) == "PAUSED"

    assert stranger.ok(stranger.get("/v1/campaign/"))["items"] == []
    assert stranger.ok(stranger.get("/v1/credits"))["balance"] == 1000
    assert owner.ok(owner.get("/v1/credits"))["balance"] == 1000 - 2
    assert_problem(stranger.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}), 404)
