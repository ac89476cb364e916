"""Consent is checked as late as possible: a suppression after launch stops what is still to come.

A suppression through the API withdraws that address's pending steps in every running campaign of
the brand (only on the address's channel) and releases their credits at once; a suppression that
lands after a step was dispatched is caught by the channel worker right before the provider call.
Either way the campaign still completes with nothing outstanding.
"""

from __future__ import annotations

from uuid import UUID

from domain.enrollment import Enrollment, dispatched_steps
from tests.support import Client, eventually, running_service

DAY = 86_400
FOLLOW_UP = [
    {"type": "EMAIL", "group": 0, "subject": "Hello", "body": "first"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "EMAIL", "group": 1, "subject": "Re: hello", "body": "follow-up"},
    {"type": "SMS", "group": 1, "body": "a text as well"},
]
LEADS = [
    {"email": "ann@example.com", "phone": "+14155550100", "first_name": "Ann"},
    {"email": "bob@example.com", "phone": "+14155550101", "first_name": "Bob"},
]


def detail(client: Client, campaign_id: str) -> dict:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def enrollment_events(service, campaign_id: str, email: str) -> list:
    row = service.db.fetch_one("SELECT id FROM contacts WHERE email = %s", (email,))
    return list(service.store.events.get(Enrollment.create_id(UUID(campaign_id), row["id"])))


def sends_recorded(client: Client, campaign_id: str, emails: int) -> None:
    """Wait until the emails the outbox shows are recorded as sent: the outbox has a call when the
    provider takes it, the StepSent (whose time the next group is due from) comes after it answers.
    A clock advanced before that moves the follow-ups' due time along with it, and they never fall due."""
    eventually(lambda: detail(client, campaign_id)["metrics"]["sent"]["email"] == emails)


def sends_today(client: Client) -> dict[str, int]:
    return {a["address"]: a["sends_today"] for a in client.ok(client.get("/v1/sender-accounts"))["items"]}


def test_a_suppression_after_launch_withdraws_the_follow_up_and_releases_its_credit(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UP)
        assert client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))["credits_reserved"] == 6
        eventually(lambda: len(client.outbox(campaign_id)) == 2)  # group 0: one email each
        sends_recorded(client, campaign_id, 2)

        client.ok(
            client.post("/v1/suppressions", {"address": "Ann@Example.com", "reason": "asked to stop"}), 201
        )
        withdrawn = [
            e
            for e in enrollment_events(service, campaign_id, "ann@example.com")
            if isinstance(e, Enrollment.StepWithdrawn)
        ]
        assert len(withdrawn) == 1 and "suppressed" in withdrawn[0].reason
        assert withdrawn[0].channel == "email" and withdrawn[0].credits_released == 1
        eventually(lambda: detail(client, campaign_id)["credits"]["released"] == 1)

        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        done = eventually(
            lambda: (
                (d := detail(client, campaign_id))["status"] == "COMPLETED"
                and d["credits"]["outstanding"] == 0
                and d
            )
        )
        assert done["credits"] == {"reserved": 6, "consumed": 5, "released": 1, "outstanding": 0}
        assert done["metrics"]["sent"] == {"email": 3, "sms": 2, "voicemail": 0}
        assert done["metrics"]["cancelled"] == 1
        to_ann = [
            (item["channel"], item["body"]) for item in client.outbox(campaign_id) if "ann" in item["to"]
        ]
        assert sorted(to_ann) == [("email", "first")]
        assert [item["channel"] for item in client.outbox(campaign_id) if item["to"] == "+14155550100"] == [
            "sms"
        ]  # an email suppression leaves the texts to the same contact alone
        assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 5


def test_a_suppression_landing_after_dispatch_is_caught_by_the_worker_before_the_provider_call(
    database_url,
):
    roles = ("projector", "relays", "enroller", "follow_ups", "settlement")  # no channel worker yet
    with running_service(database_url, roles=roles) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        steps = [{"type": "EMAIL", "group": 0, "subject": "Hello", "body": "first"}]
        campaign_id = client.campaign(client.lead_group(LEADS), steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(
            lambda: any(
                dispatched_steps(e) for e in enrollment_events(service, campaign_id, "ann@example.com")
            )
        )
        # Written straight into the list, as a suppression that arrives while the dispatch is
        # already on its way: only the worker's own check stands between it and the provider.
        service.db.execute(
            """INSERT INTO suppressions (brand_id, address, reason, created_at)
               VALUES (%s, 'ann@example.com', 'STOP', now())""",
            (client.brand_id,),
        )
        service.start(("email_worker",))

        done = eventually(
            lambda: (
                (d := detail(client, campaign_id))["status"] == "COMPLETED"
                and d["credits"]["outstanding"] == 0
                and d
            )
        )
        assert [item["to"] for item in client.outbox(campaign_id)] == ["bob@example.com"]
        assert done["credits"] == {"reserved": 2, "consumed": 1, "released": 1, "outstanding": 0}
        events = enrollment_events(service, campaign_id, "ann@example.com")
        assert [type(e).__name__ for e in events if isinstance(e, Enrollment.StepWithdrawn)] == [
            "StepWithdrawn"
        ]
        assert not any(isinstance(e, Enrollment.StepSent) for e in events)
        assert sends_today(client) == {"sales@brand.example": 1}  # the withheld send took no quota


def test_a_phone_suppression_withdraws_texts_and_voicemails_of_a_paused_campaign_and_spares_its_emails(
    database_url,
):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        client.sender("voice", "+14155550198")
        steps = [
            {"type": "EMAIL", "group": 0, "subject": "Hello", "body": "first"},
            {"type": "WAIT", "group": 1, "wait_days": 1},
            {"type": "SMS", "group": 1, "body": "a text"},
            {"type": "VOICEMAIL", "group": 1, "audio_url": "https://brand.example/hello.mp3"},
            {"type": "EMAIL", "group": 1, "subject": "Re: hello", "body": "follow-up"},
        ]
        campaign_id = client.campaign(client.lead_group(LEADS[:1]), steps)
        assert client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))["credits_reserved"] == 4
        eventually(lambda: len(client.outbox(campaign_id)) == 1)
        sends_recorded(client, campaign_id, 1)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))

        client.ok(client.post("/v1/suppressions", {"address": "+1 (415) 555-0100", "reason": "STOP"}), 201)
        withdrawn = [
            e
            for e in enrollment_events(service, campaign_id, "ann@example.com")
            if isinstance(e, Enrollment.StepWithdrawn)
        ]
        assert sorted(e.channel for e in withdrawn) == ["sms", "voicemail"]

        client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        done = eventually(
            lambda: (
                (d := detail(client, campaign_id))["status"] == "COMPLETED"
                and d["credits"]["outstanding"] == 0
                and d
            )
        )
        assert done["credits"] == {"reserved": 4, "consumed": 2, "released": 2, "outstanding": 0}
        assert [(item["channel"], item["body"]) for item in client.outbox(campaign_id)] == [
            ("email", "first"),
            ("email", "follow-up"),
        ]
