"""A number two brands both hold as a contact answers only the brand whose number it texted: a reply
or a STOP sent to one brand's Twilio number stops that brand's follow-ups, and the other brand's
campaign to the same person goes on as if nothing had been said."""

from __future__ import annotations

from domain.enrollment import Enrollment
from tests.integration.twilio_support import SMS_NUMBER, TwilioBrand, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

DAY = 86_400
ANN = "+14155550100"
FOLLOW_UPS = [
    {"type": "SMS", "group": 0, "body": "Hello {{first_name}}"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Following up"},
]


def _launched(brand: TwilioBrand) -> str:
    client = brand.client
    campaign_id = client.campaign(client.lead_group([{"phone": ANN, "first_name": "Ann"}]), FOLLOW_UPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id


def _two_brands_texting_ann(service, fake_twilio) -> tuple[TwilioBrand, str, TwilioBrand, str]:
    """Two brands, each with its own Twilio account on the same number, each with Ann in a running
    campaign whose first text has gone out."""
    answered, other = twilio_brand(service, fake_twilio), twilio_brand(service, fake_twilio)
    answered_campaign, other_campaign = _launched(answered), _launched(other)
    for brand, campaign_id in ((answered, answered_campaign), (other, other_campaign)):
        eventually(
            lambda b=brand, c=campaign_id: (
                b.client.ok(b.client.get(f"/v1/campaign/{c}"))["metrics"]["sent"]["sms"] == 1
            )
        )
    return answered, answered_campaign, other, other_campaign


def _texts_to_ann_from(fake_twilio, brand: TwilioBrand) -> int:
    return sum(1 for m in fake_twilio.messages if m["to"] == ANN and m["account_sid"] == brand.account.sid)


def _finished(brand: TwilioBrand, campaign_id: str) -> dict:
    return eventually(
        lambda: (
            (d := brand.client.ok(brand.client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED"
            and d
        )
    )


def test_a_reply_from_a_number_both_brands_hold_stops_only_the_brand_whose_number_it_answers(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        answered, answered_campaign, other, other_campaign = _two_brands_texting_ann(service, fake_twilio)

        reply = fake_twilio.text_in(answered.account, ANN, SMS_NUMBER, "Yes, call me", answered.sms_url)
        assert reply.status == 200

        assert len(campaign_events(service, answered_campaign, Enrollment.ContactReplied)) == 1
        assert campaign_events(service, other_campaign, Enrollment.ContactReplied) == []
        assert campaign_events(service, other_campaign, Enrollment.StepWithdrawn) == []
        answered.client.ok(answered.client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        mine, theirs = _finished(answered, answered_campaign), _finished(other, other_campaign)
        assert _texts_to_ann_from(fake_twilio, answered) == 1  # the follow-up never went
        assert _texts_to_ann_from(fake_twilio, other) == 2  # the other brand's did
        assert (mine["metrics"]["replied"], theirs["metrics"]["replied"]) == (1, 0)
        assert theirs["credits"] == {"reserved": 2, "consumed": 2, "released": 0, "outstanding": 0}


def test_a_stop_to_one_brands_number_opts_out_of_that_brand_alone(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        answered, answered_campaign, other, other_campaign = _two_brands_texting_ann(service, fake_twilio)

        assert fake_twilio.text_in(answered.account, ANN, SMS_NUMBER, "STOP", answered.sms_url).status == 200

        def suppressed(brand: TwilioBrand) -> list[str]:
            return [s["address"] for s in brand.client.ok(brand.client.get("/v1/suppressions"))["items"]]

        assert (suppressed(answered), suppressed(other)) == ([ANN], [])
        assert len(campaign_events(service, answered_campaign, Enrollment.StepWithdrawn)) == 1
        assert campaign_events(service, other_campaign, Enrollment.StepWithdrawn) == []
        answered.client.ok(answered.client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        _finished(answered, answered_campaign)
        theirs = _finished(other, other_campaign)
        assert _texts_to_ann_from(fake_twilio, answered) == 1
        assert _texts_to_ann_from(fake_twilio, other) == 2
        assert theirs["metrics"]["cancelled"] == 0 and theirs["metrics"]["unsubscribed"] == 0
