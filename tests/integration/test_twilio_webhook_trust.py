"""Twilio webhooks are trusted only when signed: a missing or wrong X-Twilio-Signature (or one made
for another URL or account) is a 403 problem and records nothing; a signature of one brand's
account cannot touch another brand's steps; and the accounts' credentials appear in no log line,
event or API answer."""

from __future__ import annotations

import logging

import httpx
import pytest
from psycopg import sql
from twilio.request_validator import RequestValidator

from domain.enrollment import Enrollment
from storage.event_log import events_table
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

ANN = {"phone": "+14155550100", "first_name": "Ann"}
STEPS = [
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Again"},
]


def history(service, campaign_id: str) -> list[str]:
    """The types of the campaign's enrollment events, which nothing else moves for a day."""
    return [type(e).__name__ for e in campaign_events(service, campaign_id, Enrollment.Event)]


def launched(service, fake):
    brand = twilio_brand(service, fake)
    campaign_id = brand.client.campaign(brand.client.lead_group([ANN]), STEPS)
    brand.client.ok(brand.client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepSent))
    return brand, campaign_id


@pytest.mark.parametrize("signature", ["none", "bad"])
def test_every_webhook_without_a_valid_signature_is_403_and_records_nothing(
    database_url, fake_twilio, signature
):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand, campaign_id = launched(service, fake_twilio)
        [message] = fake_twilio.messages
        before = history(service, campaign_id)
        answers = [
            fake_twilio.text_in(brand.account, ANN["phone"], SMS_NUMBER, "STOP", brand.sms_url, signature),
            fake_twilio.text_in(
                brand.account, ANN["phone"], SMS_NUMBER, "I'm interested", brand.sms_url, signature
            ),
            fake_twilio.report_status(message, "delivered", signature=signature),
        ]
        voice = message["form"]["StatusCallback"].replace("/status?", "/voice?")
        params = {"CallSid": "CA1", "AccountSid": brand.account.sid, "From": SMS_NUMBER, "To": ANN["phone"]}
        answers.append(
            fake_twilio.post_signed(voice, {**params, "AnsweredBy": "human"}, brand.account, signature)
        )
        assert [a.status for a in answers] == [403] * 4
        assert all('"status":403' in a.body.replace(" ", "") for a in answers)
        assert history(service, campaign_id) == before  # no event written
        assert brand.client.ok(brand.client.get("/v1/suppressions"))["items"] == []
        # The same requests signed as Twilio signs them do record (so the check above could see it).
        assert fake_twilio.report_status(message, "delivered").status == 204
        assert history(service, campaign_id) == [*before, "StepDelivered"]


def test_a_signature_for_another_url_or_account_does_not_verify(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand, _ = launched(service, fake_twilio)
        other = fake_twilio.add_account([SMS_NUMBER])  # claims the number, with its own token
        answer = fake_twilio.text_in(other, ANN["phone"], SMS_NUMBER, "STOP", brand.sms_url)
        assert answer.status == 403
        elsewhere = brand.sms_url.replace("/sms", "/sms-elsewhere")
        params = {"AccountSid": brand.account.sid, "From": ANN["phone"], "To": SMS_NUMBER, "Body": "STOP"}
        signed_elsewhere = RequestValidator(brand.account.token).compute_signature(elsewhere, params)
        answer = httpx.post(brand.sms_url, data=params, headers={"X-Twilio-Signature": signed_elsewhere})
        assert answer.status_code == 403 and answer.headers["content-type"] == "application/problem+json"
        assert brand.client.ok(brand.client.get("/v1/suppressions"))["items"] == []


def test_one_brands_signature_cannot_report_on_another_brands_step(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        victim, campaign_id = launched(service, fake_twilio)
        [message] = fake_twilio.messages
        intruder = twilio_brand(service, fake_twilio)  # the same numbers, another brand and account
        forged = {**message, "account_sid": intruder.account.sid}
        assert fake_twilio.report_status(forged, "undelivered").status == 404
        assert campaign_events(service, campaign_id, Enrollment.StepUndelivered) == []
        assert victim.client.ok(victim.client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["bounced"] == 0


def test_credentials_appear_in_no_log_event_or_api_answer(database_url, fake_twilio, caplog):
    caplog.set_level(logging.DEBUG)
    with service_with_twilio(database_url, fake_twilio) as service:
        brand, campaign_id = launched(service, fake_twilio)
        [message] = fake_twilio.messages
        fake_twilio.report_status(message, "delivered")
        fake_twilio.text_in(brand.account, ANN["phone"], SMS_NUMBER, "call me", brand.sms_url)
        eventually(lambda: campaign_events(service, campaign_id, Enrollment.ContactReplied))
        client = brand.client
        answers = [
            client.get("/v1/sender-accounts").text,
            client.get(f"/v1/campaign/{campaign_id}").text,
            client.get(f"/v1/campaign/{campaign_id}/executions").text,
            client.get(f"/v1/campaign/{campaign_id}/events").text,
        ]
        rows = service.db.fetch_all(sql.SQL("SELECT state FROM {}").format(events_table(service.store)))
        stored = b"".join(bytes(row["state"]) for row in rows)
    secrets = (brand.account.token, brand.account.sid)
    assert any("twilio" in record.name for record in caplog.records)  # the adapter did log its calls
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in answer for answer in answers)
        assert secret.encode() not in stored
    assert any(
        r["path"].startswith(f"/2010-04-01/Accounts/{brand.account.sid}/") for r in fake_twilio.requests_seen
    )


def test_hostile_values_are_refused_before_storage(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand, campaign_id = launched(service, fake_twilio)
        [message] = fake_twilio.messages
        before = history(service, campaign_id)
        nul_number = {
            "AccountSid": brand.account.sid,
            "From": ANN["phone"],
            "To": "+1415\x00",
            "Body": "STOP",
        }
        assert fake_twilio.post_signed(brand.sms_url, nul_number, brand.account).status == 403
        poisoned = {**message, "sid": "SM\x00"}
        answer = fake_twilio.report_status(poisoned, "undelivered", error_code="30003\x00")
        assert answer.status == 422 and "ErrorCode" in answer.body
        assert history(service, campaign_id) == before
