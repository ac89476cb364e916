"""A suspended brand, end to end over the real Twilio SDK and its loopback fake, with every role
running: its follow-up texts wait while it is suspended (however far the clock moves), a STOP that
comes in meanwhile is still recorded (the number is suppressed and its pending steps withdrawn),
and once reinstated its campaign goes on where it stood: the follow-up reaches the contact who did
not opt out, never the one who did."""

from __future__ import annotations

from commands.audience.suppressions import suppressed_addresses
from commands.credits.brand_standing import reinstate_brand, suspend_brand
from domain.enrollment import Enrollment
from tests.api.api_support import assert_problem
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually, processed_after

DAY = 86_400
ANN, BOB = "+14155550100", "+14155550101"
LEADS = [{"phone": ANN, "first_name": "Ann"}, {"phone": BOB, "first_name": "Bob"}]
FOLLOW_UPS = [
    {"type": "SMS", "group": 0, "body": "Hello {{first_name}}"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Following up"},
]


def test_a_suspended_brand_sends_nothing_records_a_stop_and_goes_on_once_reinstated(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.messages) == 2)

        now = service.clock.now
        suspend_brand(service.store, service.db, client.brand_id, "invoice unpaid", "ops", now())
        assert_problem(eventually(lambda: (a := client.get("/v1/credits")).status_code == 403 and a), 403)
        answer = fake_twilio.text_in(brand.account, ANN, SMS_NUMBER, "STOP", brand.sms_url)
        assert answer.status == 200  # what people tell us is still recorded
        assert suppressed_addresses(service.db, [(client.brand_id, ANN)]) == {(client.brand_id, ANN)}
        eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepWithdrawn))

        with processed_after(service, "follow_ups", "daily_reset"):
            service.parts.dev_clock.advance(3 * DAY)  # the follow-ups are due, and wait
        with processed_after(service, "follow_ups"):
            pass
        assert len(fake_twilio.messages) == 2
        assert campaign_events(service, campaign_id, Enrollment.StepFailed) == []

        reinstate_brand(service.store, service.db, client.brand_id, "ops", now())
        eventually(lambda: [m["to"] for m in fake_twilio.messages].count(BOB) == 2)
        done = eventually(
            lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
        )
        assert [m["to"] for m in fake_twilio.messages].count(ANN) == 1  # opted out while suspended
        assert done["credits"] == {"reserved": 4, "consumed": 3, "released": 1, "outstanding": 0}
