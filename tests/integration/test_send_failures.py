"""Provider failures and caps: permanent errors fail and release, transient ones retry, caps defer.

Uses the sandbox's failure addresses (`fail-permanent...`, `fail-transient-N...`), and the dev
clock to move past backoffs and quota resets.
"""

from __future__ import annotations

from uuid import UUID

from domain.enrollment import Enrollment
from tests.support import (
    Client,
    campaign_dispatches,
    contacts,
    credits_without_renewal,
    eventually,
    processed_after,
    running_service,
)

ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]


def detail(client: Client, campaign_id: str) -> dict:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def enrollment_events(service, campaign_id: str, email: str) -> list:
    row = service.db.fetch_one("SELECT id FROM contacts WHERE email = %s", (email,))
    return list(service.store.events.get(Enrollment.create_id(UUID(campaign_id), row["id"])))


def test_a_permanent_failure_is_recorded_its_credit_released_and_its_quota_given_back(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        account = client.sender("email", "sales@brand.example", daily_limit=10)
        group = client.lead_group([*contacts(2, phones=False), {"email": "fail-permanent@example.com"}])
        campaign_id = client.campaign(group, ONE_EMAIL)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        done = eventually(lambda: (d := detail(client, campaign_id))["status"] == "COMPLETED" and d)
        done = eventually(lambda: (d := detail(client, campaign_id))["credits"]["released"] == 1 and d)
        assert done["metrics"]["sent"]["email"] == 2
        assert done["metrics"]["failed"] == 1
        assert done["credits"] == {"reserved": 3, "consumed": 2, "released": 1, "outstanding": 0}
        assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 2
        failed = [
            e
            for e in enrollment_events(service, campaign_id, "fail-permanent@example.com")
            if isinstance(e, Enrollment.StepFailed)
        ]
        assert len(failed) == 1 and "permanent" in failed[0].reason
        accounts = client.ok(client.get("/v1/sender-accounts"))["items"]
        assert [a["sends_today"] for a in accounts if a["id"] == account["id"]] == [2]


def test_transient_failures_retry_with_backoff_and_send_once(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group([{"email": "fail-transient-2@example.com"}])
        campaign_id = client.campaign(group, ONE_EMAIL)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def deferrals() -> list:
            events = enrollment_events(service, campaign_id, "fail-transient-2@example.com")
            return [e for e in events if isinstance(e, Enrollment.StepDeferred)]

        first = eventually(lambda: deferrals())
        assert "transient" in first[0].reason
        for expected in (2, 3):  # 30 s, then 60 s of backoff, each skipped with the dev clock
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": 61}))
            if expected == 2:
                eventually(lambda: len(deferrals()) == 2)
        done = eventually(lambda: (d := detail(client, campaign_id))["status"] == "COMPLETED" and d)
        assert done["metrics"]["sent"]["email"] == 1 and done["metrics"]["failed"] == 0
        assert len(client.outbox(campaign_id)) == 1
        events = enrollment_events(service, campaign_id, "fail-transient-2@example.com")
        assert sum(isinstance(e, Enrollment.StepAttempted) for e in events) == 3
        assert [d.due_at - first[0].due_at for d in deferrals()][1].total_seconds() >= 60 - 1


def test_when_every_sender_is_at_cap_steps_wait_for_the_next_reset_instead_of_failing(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "one@brand.example", daily_limit=2)
        group = client.lead_group(contacts(5, phones=False))
        campaign_id = client.campaign(group, ONE_EMAIL)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        sent = lambda: detail(client, campaign_id)["metrics"]["sent"]["email"]  # noqa: E731
        eventually(lambda: sent() == 2)
        for expected in (4, 5):
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": 86_400}))
            eventually(lambda e=expected: sent() == e)
        done = eventually(lambda: (d := detail(client, campaign_id))["status"] == "COMPLETED" and d)
        assert done["metrics"]["failed"] == 0
        assert len(client.outbox(campaign_id)) == 5


def test_archiving_a_running_campaign_settles_what_was_sent_and_releases_the_rest(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(4, phones=False))
        steps = [*ONE_EMAIL, {"type": "EMAIL", "group": 3, "subject": "Later", "body": "Much later"}]
        campaign_id = client.campaign(group, steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: detail(client, campaign_id)["credits"]["consumed"] == 4)

        assert client.ok(client.post(f"/v1/campaign/{campaign_id}/archive"))["status"] == "ARCHIVED"
        done = eventually(lambda: (d := detail(client, campaign_id))["credits"]["outstanding"] == 0 and d)
        assert done["credits"] == {"reserved": 8, "consumed": 4, "released": 4, "outstanding": 0}
        assert credits_without_renewal(client.ok(client.get("/v1/credits"))) == {
            "plan": "basic",
            "balance": 996,
            "reserved_outstanding": 0,
        }

        with processed_after(service, "follow_ups"):  # the later group is due, but the campaign is archived
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": 4 * 86_400}))
        assert len(campaign_dispatches(service, campaign_id)) == 4
        assert detail(client, campaign_id)["metrics"]["sent"]["email"] == 4
        assert len(client.outbox(campaign_id)) == 4


def test_a_send_that_succeeds_after_a_transient_failure_counts_once_against_the_quota(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        account = client.sender("email", "sales@brand.example")
        group = client.lead_group([{"email": "fail-transient-1@example.com"}])
        campaign_id = client.campaign(group, ONE_EMAIL)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(
            lambda: any(
                isinstance(e, Enrollment.StepDeferred)
                for e in enrollment_events(service, campaign_id, "fail-transient-1@example.com")
            )
        )
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 31}))
        eventually(lambda: detail(client, campaign_id)["metrics"]["sent"]["email"] == 1)
        accounts = client.ok(client.get("/v1/sender-accounts"))["items"]
        assert [a["sends_today"] for a in accounts if a["id"] == account["id"]] == [1]
