"""Signed Twilio webhooks are handled once: a captured request replayed later records nothing new
(an old START never lifts a newer STOP, an old reply never stops a new campaign), and a signed
text whose sender is no phone number (a short code, an alphanumeric sender id) is answered with
empty TwiML and records nothing."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from commands.inbound import webhook_receipts
from commands.inbound.texts_received import receive_text
from commands.inbound.webhook_receipts import Webhook
from domain.enrollment import Enrollment
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

ANN = "+14155550100"
STEPS = [
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Again"},
]


def suppressed(client) -> list[str]:
    return [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]]


def text(brand, sid: str, body: str, sender: str = ANN) -> dict[str, str]:
    """An inbound text's form as Twilio posts it, with a fixed MessageSid."""
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": brand.account.sid,
        "From": sender,
        "To": SMS_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def launched(client, group_id: str) -> str:
    campaign_id = client.campaign(group_id, STEPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id


@pytest.mark.parametrize("sender", ["AMAZON", "72345", "Acme Inc", "+1415\x00", "x" * 5000, ""])
def test_a_signed_text_from_no_phone_number_is_answered_with_empty_twiml_and_records_nothing(
    database_url, fake_twilio, sender
):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        for number, body in enumerate(("STOP", "Your code is 123456", "START")):
            form = text(brand, f"SM{number:032d}", body, sender)
            answer = fake_twilio.post_signed(brand.sms_url, form, brand.account)
            assert answer.status == 200 and list(ElementTree.fromstring(answer.body)) == []
        assert suppressed(brand.client) == []
        assert service.db.fetch_all("SELECT * FROM twilio_webhook_receipts") == []


def test_a_replayed_start_after_a_newer_stop_leaves_the_number_suppressed(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        start = text(brand, "SM" + "b" * 32, "START")
        for form in (text(brand, "SM" + "a" * 32, "STOP"), start, text(brand, "SM" + "c" * 32, "STOP")):
            assert fake_twilio.post_signed(brand.sms_url, form, brand.account).status == 200
        assert suppressed(brand.client) == [ANN]

        replayed = fake_twilio.post_signed(brand.sms_url, start, brand.account)  # captured, sent again

        assert replayed.status == 200 and list(ElementTree.fromstring(replayed.body)) == []
        assert suppressed(brand.client) == [ANN]


def test_a_stop_retried_after_the_start_that_followed_it_is_not_applied(database_url, fake_twilio):
    """Twilio retries a webhook that failed; the retry must not undo a later keyword."""
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        brand_id = service.db.fetch_one("SELECT brand_id FROM sender_accounts LIMIT 1")["brand_id"]
        now = service.clock.now()
        # The STOP reached us first but failed before its effect was recorded (a crash, a 500).
        webhook_receipts.receive(service.db, brand_id, Webhook.SMS, "SMstop", "", now, ANN)
        receive_text(service.store, service.db, brand_id, ANN, "START", "SMstart", now)

        receive_text(service.store, service.db, brand_id, ANN, "STOP", "SMstop", now)  # Twilio's retry

        assert suppressed(brand.client) == []
        receive_text(service.store, service.db, brand_id, ANN, "STOP", "SMnewer", now)
        assert suppressed(brand.client) == [ANN]


def test_a_replayed_reply_is_recorded_once_and_never_stops_a_later_campaign(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        group = client.lead_group([{"phone": ANN, "first_name": "Ann"}])
        first = launched(client, group)
        eventually(lambda: campaign_events(service, first, Enrollment.StepSent))
        reply = text(brand, "SM" + "d" * 32, "Sounds good, call me")
        assert fake_twilio.post_signed(brand.sms_url, reply, brand.account).status == 200
        assert len(campaign_events(service, first, Enrollment.ContactReplied)) == 1

        second = launched(client, group)
        eventually(lambda: campaign_events(service, second, Enrollment.StepSent))
        replayed = fake_twilio.post_signed(brand.sms_url, reply, brand.account)

        assert replayed.status == 200
        assert len(campaign_events(service, first, Enrollment.ContactReplied)) == 1
        assert campaign_events(service, second, Enrollment.ContactReplied) == []
        assert campaign_events(service, second, Enrollment.StepWithdrawn) == []


def test_a_replayed_delivery_report_records_nothing_and_old_report_receipts_are_forgotten(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        campaign_id = launched(brand.client, brand.client.lead_group([{"phone": ANN}]))
        [message] = eventually(lambda: fake_twilio.messages)
        assert fake_twilio.report_status(message, "delivered").status == 204
        assert fake_twilio.report_status(message, "delivered").status == 204
        assert len(campaign_events(service, campaign_id, Enrollment.StepDelivered)) == 1
        fake_twilio.text_in(brand.account, ANN, SMS_NUMBER, "thanks", brand.sms_url)
        kinds = "SELECT webhook, handled_at IS NOT NULL AS handled FROM twilio_webhook_receipts ORDER BY 1"
        assert service.db.fetch_all(kinds) == [
            {"webhook": "sms", "handled": True},
            {"webhook": "status", "handled": True},
        ]

        later = webhook_receipts.CALLBACKS_KEPT + timedelta(days=1)
        brand.client.ok(brand.client.post("/v1/dev/clock/advance", {"seconds": later.total_seconds()}))

        eventually(lambda: [r["webhook"] for r in service.db.fetch_all(kinds)] == ["sms"])


def test_a_signed_request_naming_no_sid_is_refused_and_records_nothing(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        form = {k: v for k, v in text(brand, "SM1", "STOP").items() if not k.endswith("Sid") or k[0] == "A"}
        answer = fake_twilio.post_signed(brand.sms_url, form, brand.account)
        assert answer.status == 422 and "MessageSid" in answer.body
        assert suppressed(brand.client) == []


def test_one_brands_receipts_never_make_another_brands_request_a_repeat(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        victim = twilio_brand(service, fake_twilio)
        intruder = twilio_brand(service, fake_twilio)  # the same number, another brand and account
        sid = "SM" + "e" * 32
        assert (
            fake_twilio.post_signed(intruder.sms_url, text(intruder, sid, "HELP"), intruder.account).status
            == 200
        )

        assert (
            fake_twilio.post_signed(victim.sms_url, text(victim, sid, "STOP"), victim.account).status == 200
        )

        assert suppressed(victim.client) == [ANN] and suppressed(intruder.client) == []


@pytest.mark.parametrize("sid", ["SM\x00", "SM" + "f" * 5000, "SM 1", "SM1\n"])
def test_a_sid_that_is_no_twilio_value_is_refused_before_storage(database_url, fake_twilio, sid):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        answer = fake_twilio.post_signed(brand.sms_url, text(brand, sid, "STOP"), brand.account)
        assert answer.status == 422 and "MessageSid" in answer.body
        assert suppressed(brand.client) == []
        assert service.db.fetch_all("SELECT * FROM twilio_webhook_receipts") == []
