"""A hard bounce suppresses its address whoever reports it: Twilio's status callback (undelivered
with a permanent error code; a passing one suppresses nothing), and the sandbox's `bounce...`
recipients, which bounce through the path Gmail's bounces take; its `optout...` ones unsubscribe.
The sandbox plays them out on the pass the test runs (deterministic), and the guard counts them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from consumers.providers.sandbox import SandboxProvider
from consumers.providers.sandbox_recipients import SandboxRecipients
from domain.enrollment import Enrollment
from tests.integration.desk import ROLES, Desk
from tests.integration.twilio_support import service_with_twilio, twilio_brand
from tests.support import Client, campaign_events, contacts, eventually, running_service

START = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
STEPS = [{"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}"}]


def suppressed(client: Client) -> dict[str, str]:
    return {s["address"]: s["reason"] for s in client.ok(client.get("/v1/suppressions"))["items"]}


def test_a_text_undelivered_for_good_suppresses_the_number_and_one_undelivered_for_now_does_not(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        campaign_id = client.campaign(client.lead_group(contacts(2)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.messages) == 2)
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 2
        )
        by_number = {m["to"]: m for m in fake_twilio.messages}

        assert (
            fake_twilio.report_status(by_number["+14155550000"], "undelivered", error_code="30005").status
            == 204
        )
        assert (
            fake_twilio.report_status(by_number["+14155550001"], "undelivered", error_code="30003").status
            == 204
        )

        assert suppressed(client) == {"+14155550000": "hard bounce: undelivered: twilio error 30005"}
        undelivered = campaign_events(service, campaign_id, Enrollment.StepUndelivered)
        assert sorted((e.reason, e.hard) for e in undelivered) == [
            ("undelivered: twilio error 30003", False),
            ("undelivered: twilio error 30005", True),
        ]

        # As after a crash between recording the step and suppressing its number (the report not
        # marked handled): Twilio's retry finds the step recorded, and still suppresses the number.
        service.db.execute("DELETE FROM suppressions WHERE brand_id = %s", (client.brand_id,))
        service.db.execute("UPDATE twilio_webhook_receipts SET handled_at = NULL")
        assert (
            fake_twilio.report_status(by_number["+14155550000"], "undelivered", error_code="30005").status
            == 204
        )
        assert suppressed(client) == {"+14155550000": "hard bounce: undelivered: twilio error 30005"}
        assert len(campaign_events(service, campaign_id, Enrollment.StepUndelivered)) == 2  # not again


def test_the_sandboxs_bounce_recipients_bounce_hard_and_its_optout_ones_unsubscribe(database_url):
    with running_service(database_url, roles=ROLES) as service:
        d = Desk(service, Client(service), SandboxProvider(service.db))  # type: ignore[arg-type]
        d.client.sender("email", "sales@sandbox.example")
        people = [
            {"email": "bounce-ann@example.com"},
            {"email": "bob@example.com"},
            {"email": "optout-cy@example.com"},
        ]
        two_days = [
            {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
            {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
        ]
        campaign = d.campaign(people, two_days)
        bob, ann, cy = d.launch(campaign, START)  # by email: bob@, bounce-ann@, optout-cy@
        assert d.send(d.dispatch([ann, bob, cy], START), START).sent == 3  # all accepted

        # Another brand's row that cannot be played out (an address no list takes): it fails on its
        # own, and this brand's bounce and opt-out still play out.
        service.db.execute(
            """INSERT INTO sandbox_outbox (provider_message_id, message_key, channel, "to", "from",
                   campaign_id, contact_id, step_id, brand_id)
               VALUES ('m', 'k', 'email', 'optout-but-no-address', 'x', %s, %s, 's', %s)""",
            (uuid4(), uuid4(), uuid4()),
        )
        recipients = SandboxRecipients(d.store, service.db, lambda: START)
        assert recipients.tick() == 2  # the bounce and the opt-out, played out once
        assert recipients.tick() == 0
        [failing] = service.db.fetch_all(
            "SELECT item, brand_id FROM parked_items WHERE follower = 'sandbox_recipients'"
        )
        assert failing["item"].startswith("outbox ") and failing["brand_id"] != d.client.brand_id

        assert suppressed(d.client) == {
            "bounce-ann@example.com": "hard bounce: sandbox: 550 5.1.1 the email account does not exist",
            "optout-cy@example.com": f"unsubscribed (one-click, campaign {campaign})",
        }
        [undelivered] = d.events(ann, Enrollment.StepUndelivered)
        assert undelivered.hard
        [opted_out] = d.events(cy, Enrollment.ContactOptedOut)
        assert (opted_out.channel, opted_out.cause) == ("email", "unsubscribed")
        assert d.events(bob, Enrollment.StepUndelivered) == d.events(bob, Enrollment.ContactOptedOut) == []
        # Their next day's steps are withdrawn: only Bob's goes.
        next_day = START + timedelta(days=1)
        assert d.send(d.dispatch([ann, bob, cy], next_day), next_day).sent == 1


def test_a_running_service_pauses_a_campaign_its_sandbox_bounces_over_the_limit(database_url):
    """The roles as `serve` runs them: the sandbox bounces, the projector and the guard follow."""
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@serve.example")
        limits = {"max_bounce_rate": 0.3, "max_opt_out_rate": 0.3, "min_sends": 4, "window_sends": 10}
        client.ok(client.http.put("/v1/deliverability-settings", json=limits))
        people = [{"email": f"bounce-{n}@example.com"} for n in range(2)]
        people += [{"email": f"fine-{n}@example.com"} for n in range(2)]
        two_days = [
            {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
            {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
        ]
        campaign = client.campaign(client.lead_group(people), two_days)
        client.ok(client.post(f"/v1/campaign/{campaign}/launch"))

        shown = eventually(
            lambda: (c := client.ok(client.get(f"/v1/campaign/{campaign}")))["status"] == "PAUSED" and c
        )
        assert shown["pause"]["by"] == "deliverability guard"
        assert "hard-bounce rate 50.0% over the last 4 email sends" in shown["pause"]["reason"]
        assert shown["metrics"]["bounced"] == 2
        # The guard judges the mailbox's window right after the campaign's, in the same pass.
        [account] = eventually(
            lambda: (
                (items := client.ok(client.get("/v1/sender-accounts"))["items"])
                and items[0]["status"] == "paused_deliverability"
                and items
            )
        )
        assert account["status"] == "paused_deliverability"


class SandboxPlayingOutMidSend(SandboxProvider):
    """The sandbox, with its recipients' pass run right after it took a batch: as the scheduler's
    pass can fall between the provider's call and the step's `StepSent` being stored."""

    def __init__(self, db: Any, recipients: SandboxRecipients) -> None:
        super().__init__(db)
        self.recipients, self.played_mid_send = recipients, []

    def send_many(self, messages: list[Any]) -> list[Any]:
        outcomes = super().send_many(messages)
        self.played_mid_send.append(self.recipients.tick())
        return outcomes


def test_a_sandbox_bounce_and_opt_out_whose_send_is_not_stored_yet_play_out_once_it_is(database_url):
    with running_service(database_url, roles=ROLES) as service:
        later = START + timedelta(minutes=5)  # the recipients' pass, after the send's moment
        recipients = SandboxRecipients(service.store, service.db, lambda: later)
        sandbox = SandboxPlayingOutMidSend(service.db, recipients)
        d = Desk(service, Client(service), sandbox)  # type: ignore[arg-type]
        d.client.sender("email", "sales@sandbox.example")
        people = [{"email": "bounce-ann@example.com"}, {"email": "optout-cy@example.com"}]
        campaign = d.campaign(people, [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}])
        ann, cy = d.launch(campaign, START)
        assert d.send(d.dispatch([ann, cy], START), START).sent == 2

        assert sandbox.played_mid_send == [0]  # their steps were not sent yet: nothing lost
        assert recipients.tick() == 2  # once they are, the bounce and the opt-out play out
        [undelivered] = d.events(ann, Enrollment.StepUndelivered)
        assert (undelivered.hard, undelivered.undelivered_at) == (True, later)
        [opted_out] = d.events(cy, Enrollment.ContactOptedOut)
        assert (opted_out.cause, opted_out.opted_out_at) == ("unsubscribed", later)  # the pass's moment
        assert recipients.tick() == 0
