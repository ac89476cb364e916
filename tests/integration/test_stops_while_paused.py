"""A reply or a STOP that arrives while its campaign is paused counts all the same: the contact's
remaining steps are withdrawn (their credits released) at once, and once the campaign is resumed
nothing more goes to that contact while everyone else gets the rest of the campaign."""

from __future__ import annotations

from domain.enrollment import Enrollment
from tests.integration.twilio_support import SMS_NUMBER, TwilioBrand, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

DAY = 86_400
ANN, BOB = "+14155550100", "+14155550101"
LEADS = [{"phone": ANN, "first_name": "Ann"}, {"phone": BOB, "first_name": "Bob"}]
FOLLOW_UPS = [
    {"type": "SMS", "group": 0, "body": "Hello {{first_name}}"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Following up"},
]


def _paused_after_the_first_texts(brand: TwilioBrand) -> str:
    client = brand.client
    campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 2)
    assert client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))["status"] == "PAUSED"
    return campaign_id


def _resumed_to_the_end(brand: TwilioBrand, campaign_id: str) -> dict:
    client = brand.client
    assert client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))["status"] == "ACTIVE"
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
    return eventually(
        lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
    )


def _texts_to(fake_twilio, number: str) -> int:
    return [m["to"] for m in fake_twilio.messages].count(number)


def test_a_reply_while_the_campaign_is_paused_withdraws_the_rest_and_nothing_more_goes_after_resume(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        campaign_id = _paused_after_the_first_texts(brand)

        fake_twilio.text_in(brand.account, ANN, SMS_NUMBER, "Interested, call me", brand.sms_url)

        [withdrawn] = campaign_events(service, campaign_id, Enrollment.StepWithdrawn)
        assert (withdrawn.channel, withdrawn.credits_released) == ("sms", 1)
        done = _resumed_to_the_end(brand, campaign_id)
        assert (_texts_to(fake_twilio, ANN), _texts_to(fake_twilio, BOB)) == (1, 2)
        assert done["metrics"]["replied"] == 1
        assert done["credits"] == {"reserved": 4, "consumed": 3, "released": 1, "outstanding": 0}


def test_a_stop_while_the_campaign_is_paused_withdraws_the_rest_and_nothing_more_goes_after_resume(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        campaign_id = _paused_after_the_first_texts(brand)

        fake_twilio.text_in(brand.account, ANN, SMS_NUMBER, "stop", brand.sms_url)

        [withdrawn] = campaign_events(service, campaign_id, Enrollment.StepWithdrawn)
        assert (withdrawn.channel, withdrawn.credits_released) == ("sms", 1)
        done = _resumed_to_the_end(brand, campaign_id)
        assert (_texts_to(fake_twilio, ANN), _texts_to(fake_twilio, BOB)) == (1, 2)
        assert done["metrics"]["unsubscribed"] == 1 and done["metrics"]["cancelled"] == 1
        assert done["credits"] == {"reserved": 4, "consumed": 3, "released": 1, "outstanding": 0}
