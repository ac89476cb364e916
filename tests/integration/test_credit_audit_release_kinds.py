"""`campaign-service audit credits` on a real history where credits went back every way they can:
a step that failed, a follow-up withdrawn because the contact replied, one withdrawn because the
address was suppressed, and the rest released when the campaign was archived. The audit lists each
release, finds the figures balanced (reserved = consumed + released, nothing outstanding) and
reports nothing."""

from __future__ import annotations

import json
from uuid import UUID

from commands.inbound.replies import record_reply_in_enrollment
from domain.enrollment import Enrollment
from runtime.cli import main
from tests.support import Client, campaign_events, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
PEOPLE = ["fail-permanent-fay@example.com", "ann@example.com", "bob@example.com", "cy@example.com"]


def test_the_audit_lists_every_kind_of_release_and_finds_the_books_balanced(
    database_url, monkeypatch, capsys
):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        campaign_id = client.campaign(client.lead_group([{"email": e} for e in PEOPLE]), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        detail = lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))  # noqa: E731
        eventually(lambda: detail()["metrics"]["sent"]["email"] == 3 and detail()["metrics"]["failed"] == 1)
        contact_of = {
            row["email"]: row["contact_id"]
            for row in service.db.fetch_all(
                "SELECT contact_id, email FROM launch_audiences WHERE campaign_id = %s", (UUID(campaign_id),)
            )
        }

        ann = Enrollment.create_id(UUID(campaign_id), contact_of["ann@example.com"])
        assert (
            record_reply_in_enrollment(service.store, ann, "email", "gmail-reply-1", service.clock.now()) == 1
        )
        client.ok(client.post("/v1/suppressions", {"address": "bob@example.com", "reason": "asked"}), 201)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))
        settled = eventually(lambda: (c := detail()["credits"])["outstanding"] == 0 and c)
        step_releases = [
            *campaign_events(service, campaign_id, Enrollment.StepFailed),
            *campaign_events(service, campaign_id, Enrollment.StepWithdrawn),
        ]

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["audit", "credits", "--brand", str(client.brand_id), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["violations"] == []
    released = [e for e in report["entries"] if e["kind"] == "step released"]
    name_of = {str(contact): email for email, contact in contact_of.items()}
    assert {name_of[e["contact_id"]] for e in released} >= {PEOPLE[0], "ann@example.com", "bob@example.com"}
    assert len(released) == len(step_releases)
    [figures] = [c for c in report["campaigns"] if c["campaign_id"] == campaign_id]
    assert figures["steps_released"] == sum(e.credits_released for e in step_releases)
    assert (figures["reserved"], figures["consumed"], figures["released"]) == (
        settled["reserved"],
        settled["consumed"],
        settled["released"],
    )
    assert figures["outstanding"] == 0 and figures["consumed"] + figures["released"] == figures["reserved"]
    assert figures["consumed"] == figures["sent"] == 3
