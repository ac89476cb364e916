"""Texts that contacts send to a brand's Twilio number: STOP-type words suppress the number for the
brand, START lifts it, HELP is answered with the brand's help text, and anything else is a reply
that stops the contact's follow-ups and releases their credits."""

from __future__ import annotations

from xml.etree import ElementTree

from domain.enrollment import REPLIED, Enrollment
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

DAY = 86_400
ANN, BOB = "+14155550100", "+14155550101"
LEADS = [
    {"email": "ann@example.com", "phone": ANN, "first_name": "Ann"},
    {"email": "bob@example.com", "phone": BOB, "first_name": "Bob"},
]
FOLLOW_UPS = [
    {"type": "SMS", "group": 0, "body": "Hello {{first_name}}"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Following up"},
    {"type": "EMAIL", "group": 1, "subject": "Following up", "body": "by mail too"},
]


def suppressed(client) -> list[str]:
    return [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]]


def test_stop_suppresses_start_lifts_and_help_answers_with_the_brand_text(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client, account = brand.client, brand.account
        help_text = {
            "allowed_from": "00:00",
            "allowed_until": "24:00",
            "help_text": "Acme: help at acme.example",
        }
        client.ok(client.http.put("/v1/messaging-settings", json=help_text))

        for word in ("STOP", " stopall ", "Unsubscribe", "cancel", "END", "quit"):
            answer = fake_twilio.text_in(account, ANN, SMS_NUMBER, word, brand.sms_url)
            assert answer.status == 200 and ElementTree.fromstring(answer.body).tag == "Response"
            assert suppressed(client) == [ANN], word
        assert client.ok(client.get("/v1/suppressions"))["items"][0]["reason"] == "SMS keyword STOP"

        assert fake_twilio.text_in(account, ANN, SMS_NUMBER, "START", brand.sms_url).status == 200
        assert suppressed(client) == []
        fake_twilio.text_in(account, ANN, SMS_NUMBER, "STOP", brand.sms_url)
        fake_twilio.text_in(account, ANN, SMS_NUMBER, "unstop", brand.sms_url)
        assert suppressed(client) == []

        answer = fake_twilio.text_in(account, BOB, SMS_NUMBER, "help", brand.sms_url)
        [message] = ElementTree.fromstring(answer.body)
        assert (message.tag, message.text) == ("Message", "Acme: help at acme.example")
        assert suppressed(client) == []


def test_a_stop_withdraws_the_numbers_pending_texts_and_they_are_never_sent(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        client.sender("email", "sales@brand.example")
        campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.messages) == 2)
        # Recorded as sent too, before the clock moves: the follow-ups are due from the sends' time,
        # which a send recorded after the advance would put two days later (never, for this test).
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 2
        )

        fake_twilio.text_in(brand.account, ANN, SMS_NUMBER, "STOP", brand.sms_url)
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        done = eventually(
            lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
        )
        assert [m["to"] for m in fake_twilio.messages].count(ANN) == 1  # the follow-up text never went
        assert [m["to"] for m in fake_twilio.messages].count(BOB) == 2
        assert sorted(i["to"] for i in client.outbox(campaign_id)) == ["ann@example.com", "bob@example.com"]
        assert done["credits"] == {"reserved": 6, "consumed": 5, "released": 1, "outstanding": 0}


def test_a_reply_stops_the_contacts_follow_ups_and_releases_their_credits(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        client.sender("email", "sales@brand.example")
        campaign_id = client.campaign(client.lead_group(LEADS), FOLLOW_UPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.messages) == 2)
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 2
        )

        answer = fake_twilio.text_in(
            brand.account, ANN, SMS_NUMBER, "Sounds good, call me tomorrow", brand.sms_url
        )
        assert answer.status == 200 and list(ElementTree.fromstring(answer.body)) == []  # no auto-answer
        assert suppressed(client) == []  # a reply is not an opt-out
        withdrawn = campaign_events(service, campaign_id, Enrollment.StepWithdrawn)
        assert sorted((w.channel, w.reason, w.credits_released) for w in withdrawn) == [
            ("email", REPLIED, 1),
            ("sms", REPLIED, 1),
        ]
        [replied] = campaign_events(service, campaign_id, Enrollment.ContactReplied)
        assert replied.channel == "sms" and replied.step_id is not None

        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        done = eventually(
            lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
        )
        assert [m["to"] for m in fake_twilio.messages].count(ANN) == 1
        assert [m["to"] for m in fake_twilio.messages].count(BOB) == 2
        assert done["credits"] == {"reserved": 6, "consumed": 4, "released": 2, "outstanding": 0}
        assert done["metrics"]["replied"] == 1
        leads = client.ok(client.get(f"/v1/campaign/{campaign_id}/leads"))["items"]
        ann = [lead for lead in leads if lead["replied"]]
        assert len(ann) == 1 and not ann[0]["unsubscribed"]
        rows = client.ok(
            client.get(f"/v1/campaign/{campaign_id}/executions", params={"contact_id": ann[0]["contact_id"]})
        )
        replied_rows = [r for r in rows["items"] if r["replied_at"] is not None]
        assert [r["step_id"] for r in replied_rows] == [replied.step_id]
        assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 4
