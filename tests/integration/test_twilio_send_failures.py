"""How the send path takes Twilio's refusals and silences: an opted-out number (21610) is
suppressed for the brand and never texted again; an invalid number (21211) fails for good; 20429
and 5xx are retried with backoff; a slow or lost answer is reconciled with Twilio before any retry,
so nothing is sent twice."""

from __future__ import annotations

from domain.enrollment import Enrollment
from tests.integration.twilio_support import service_with_twilio, twilio_brand
from tests.support import campaign_events, eventually

DAY = 86_400
ANN = {"phone": "+14155550100", "first_name": "Ann"}
TEXTS = [
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "SMS", "group": 1, "body": "Following up"},
    {"type": "VOICEMAIL", "group": 1, "audio_url": "https://brand.example/hi.mp3"},
]
ONE_TEXT = [{"type": "SMS", "group": 0, "body": "Hello"}]


def detail(client, campaign_id: str) -> dict:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def completed(client, campaign_id: str) -> dict:
    return eventually(lambda: (d := detail(client, campaign_id))["status"] == "COMPLETED" and d)


def test_an_opted_out_number_is_suppressed_and_never_gets_another_text(database_url, fake_twilio):
    fake_twilio.opted_out.add(ANN["phone"])
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        campaign_id = client.campaign(client.lead_group([ANN]), TEXTS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: [r["code"] for r in fake_twilio.refused] == [21610])
        entry = eventually(lambda: client.ok(client.get("/v1/suppressions"))["items"])
        assert entry[0]["address"] == ANN["phone"] and "21610" in entry[0]["reason"]

        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 2 * DAY}))
        done = completed(client, campaign_id)
        assert [r["code"] for r in fake_twilio.refused] == [21610]  # never asked again
        assert fake_twilio.messages == [] and fake_twilio.calls == []
        [failed] = campaign_events(service, campaign_id, Enrollment.StepFailed)
        assert "21610" in failed.reason
        assert done["credits"] == {"reserved": 3, "consumed": 0, "released": 3, "outstanding": 0}


def test_an_invalid_number_fails_for_good_without_a_retry(database_url, fake_twilio):
    fake_twilio.fail_next(21211)
    with service_with_twilio(database_url, fake_twilio) as service:
        client = twilio_brand(service, fake_twilio).client
        campaign_id = client.campaign(client.lead_group([ANN]), ONE_TEXT)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        done = completed(client, campaign_id)
        assert done["metrics"]["failed"] == 1 and fake_twilio.messages == []
        assert [r["code"] for r in fake_twilio.refused] == [21211]
        assert client.ok(client.get("/v1/suppressions"))["items"] == []  # invalid is not opted out


def test_too_many_requests_and_server_errors_are_retried_with_backoff(database_url, fake_twilio):
    fake_twilio.fail_next(20429, status=429)
    fake_twilio.fail_next(None, status=503)
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        client = twilio_brand(service, fake_twilio).client
        campaign_id = client.campaign(client.lead_group([ANN]), ONE_TEXT)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(campaign_events(service, campaign_id, Enrollment.StepDeferred)) == 1)
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 60}))
        eventually(lambda: len(campaign_events(service, campaign_id, Enrollment.StepDeferred)) == 2)
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 120}))
        done = completed(client, campaign_id)
        reasons = [d.reason for d in campaign_events(service, campaign_id, Enrollment.StepDeferred)]
        assert "20429" in reasons[0] and "503" in reasons[1]
        assert len(fake_twilio.messages) == 1 and done["metrics"]["sent"]["sms"] == 1


def test_a_lost_answer_is_reconciled_and_the_text_is_not_sent_twice(database_url, fake_twilio):
    fake_twilio.lose_next_answer()
    with service_with_twilio(database_url, fake_twilio, dev_clock=True) as service:
        client = twilio_brand(service, fake_twilio).client
        campaign_id = client.campaign(client.lead_group([ANN]), ONE_TEXT)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        [deferred] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
        assert "no answer" in deferred.reason and len(fake_twilio.messages) == 1
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 60}))
        done = completed(client, campaign_id)
        [sent] = campaign_events(service, campaign_id, Enrollment.StepSent)
        assert len(fake_twilio.messages) == 1 and sent.provider_message_id == fake_twilio.messages[0]["sid"]
        assert done["credits"]["consumed"] == 1


def test_a_slow_answer_past_the_timeout_is_reconciled_too(database_url, fake_twilio):
    fake_twilio.answer_late(3.0)
    with service_with_twilio(database_url, fake_twilio, dev_clock=True, twilio_timeout=0.5) as service:
        client = twilio_brand(service, fake_twilio).client
        campaign_id = client.campaign(client.lead_group([ANN]), ONE_TEXT)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        [deferred] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
        assert "Timeout" in deferred.reason
        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 60}))
        completed(client, campaign_id)
        [sent] = campaign_events(service, campaign_id, Enrollment.StepSent)
        assert [m["sid"] for m in fake_twilio.messages] == [sent.provider_message_id]
