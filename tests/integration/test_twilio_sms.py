"""SMS campaigns through the real Twilio SDK against the loopback fake: the texts go out with the
brand's own credentials and a status callback; a delivery report marks the step delivered in the
metrics and the executions; an undelivered one counts as a bounce."""

from __future__ import annotations

from domain.enrollment import Enrollment
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, contacts, eventually

STEPS = [{"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}, a quick question"}]


def detail(client, campaign_id: str) -> dict:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def executions(client, campaign_id: str) -> list[dict]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]


def test_an_sms_campaign_goes_out_through_twilio_and_a_status_callback_marks_it_delivered(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        campaign_id = client.campaign(client.lead_group(contacts(2)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        eventually(lambda: len(fake_twilio.messages) == 2)
        by_number = {m["to"]: m for m in fake_twilio.messages}
        assert sorted(by_number) == ["+14155550000", "+14155550001"]
        first = by_number["+14155550000"]
        assert first["from"] == SMS_NUMBER and first["body"] == "Hi Lead0, a quick question"
        assert first["form"]["StatusCallback"].startswith(f"{brand.public_url}/webhooks/twilio/status?key=")
        sent = eventually(lambda: (d := detail(client, campaign_id))["metrics"]["sent"]["sms"] == 2 and d)
        assert sent["metrics"]["delivered"] == 0

        assert fake_twilio.report_status(first, "sent").status == 204  # on its way: nothing to record
        assert fake_twilio.report_status(first, "delivered").status == 204
        assert fake_twilio.report_status(first, "delivered").status == 204  # a repeat changes nothing
        second = by_number["+14155550001"]
        assert fake_twilio.report_status(second, "undelivered", error_code="30003").status == 204

        metrics = eventually(
            lambda: (
                (m := detail(client, campaign_id)["metrics"])["delivered"] == 1 and m["bounced"] == 1 and m
            )
        )
        assert metrics["sent"]["sms"] == 2 and metrics["failed"] == 0
        rows = eventually(
            lambda: (
                sorted(
                    (r["status"], r["provider_message_id"], r["error"])
                    for r in executions(client, campaign_id)
                )
                if all(r["status"] in ("delivered", "undelivered") for r in executions(client, campaign_id))
                else None
            )
        )
        assert rows == sorted(
            [
                ("delivered", first["sid"], None),
                ("undelivered", second["sid"], "undelivered: twilio error 30003"),
            ]
        )
        assert len(campaign_events(service, campaign_id, Enrollment.StepDelivered)) == 1
        moment = service.clock.now().isoformat()
        then = client.ok(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": moment}))["metrics"]
        assert (then["delivered"], then["bounced"], then["replied"]) == (1, 1, 0)  # rebuilt from events
        assert len(fake_twilio.messages) == 2  # nothing was sent twice
