"""Every word Twilio or a texter uses for a thing means that thing: each message status that says a
text did not arrive (undelivered, failed) counts it bounced; each answering-machine result that
says a machine took the call (machine_start and the three machine_end_* kinds) gets the voicemail
played, and a person, a fax or an unknown answer gets a hang-up; each call status that says nobody
picked up (busy, no-answer, failed, canceled) records the voicemail undelivered, once; and each keyword for HELP (HELP,
INFO) and for START (START, UNSTOP) is understood in any case and with spaces around it, as is
each opt-out keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) on its own, while a sentence
that merely contains one is a reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from xml.etree import ElementTree

from domain.enrollment import Enrollment
from tests.integration.twilio_support import SMS_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, contacts, eventually

SMS_STATUSES = {
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "undelivered",
    "sent": "sent",  # on its way: nothing to record yet
    "queued": "sent",
}
MACHINE_ANSWERS = ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"]
NOBODY_TO_TELL = ["human", "fax", "unknown"]
NOBODY_PICKED_UP = ["busy", "no-answer", "failed", "canceled"]
AUDIO = "https://brand.example/hello.mp3"


def _execution_statuses(service, client, campaign_id: str) -> dict[str, str]:
    """Each contact's phone number and its one step's status."""
    audience = service.db.fetch_all(
        "SELECT contact_id, phone FROM launch_audiences WHERE campaign_id = %s", (UUID(campaign_id),)
    )
    phone_of = {str(row["contact_id"]): row["phone"] for row in audience}
    rows = client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]
    return {phone_of[row["contact_id"]]: row["status"] for row in rows}


def _voicemails_placed(service, fake_twilio, people: int) -> tuple[Any, str, list[dict[str, Any]]]:
    """A brand's voicemail drop to `people` contacts, launched until every call is placed and
    counted sent: the brand's client, the campaign, its calls by number."""
    client = twilio_brand(service, fake_twilio).client
    campaign_id = client.campaign(
        client.lead_group(contacts(people)), [{"type": "VOICEMAIL", "group": 0, "audio_url": AUDIO}]
    )
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: len(fake_twilio.calls) == people)
    eventually(
        lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["voicemail"] == people
    )
    return client, campaign_id, sorted(fake_twilio.calls, key=lambda call: call["to"])


def test_every_status_twilio_gives_a_text_that_did_not_arrive_counts_it_bounced(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        people = contacts(len(SMS_STATUSES))
        campaign_id = client.campaign(client.lead_group(people), [{"type": "SMS", "group": 0, "body": "Hi"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.messages) == len(people))
        eventually(
            lambda: (
                client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == len(people)
            )
        )
        reported = dict(zip(sorted(m["to"] for m in fake_twilio.messages), SMS_STATUSES, strict=True))

        before = datetime.now(UTC)
        for message in fake_twilio.messages:
            status = reported[message["to"]]
            code = None if status == "failed" else "30003"  # a failure Twilio gives no code
            assert fake_twilio.report_status(message, status, code).status == 204
        after = datetime.now(UTC)

        expected = {phone: SMS_STATUSES[status] for phone, status in reported.items()}
        eventually(lambda: _execution_statuses(service, client, campaign_id) == expected)
        metrics = client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]
        assert (metrics["delivered"], metrics["bounced"]) == (1, 2)
        undelivered = campaign_events(service, campaign_id, Enrollment.StepUndelivered)
        assert sorted(e.reason for e in undelivered) == ["failed", "undelivered: twilio error 30003"]
        [delivered] = campaign_events(service, campaign_id, Enrollment.StepDelivered)
        assert delivered.detail == "delivered"
        assert all(before <= e.undelivered_at <= after for e in undelivered)
        assert before <= delivered.delivered_at <= after


def test_every_machine_answer_gets_the_voicemail_and_a_person_a_fax_or_an_unknown_a_hang_up(
    database_url, fake_twilio
):
    answers = [*MACHINE_ANSWERS, *NOBODY_TO_TELL]
    with service_with_twilio(database_url, fake_twilio) as service:
        client, campaign_id, calls = _voicemails_placed(service, fake_twilio, len(answers))
        before = datetime.now(UTC)

        outcomes = {
            answer: fake_twilio.answer_call(call, answer) for call, answer in zip(calls, answers, strict=True)
        }
        after = datetime.now(UTC)

        for answer in MACHINE_ANSWERS:
            assert (outcomes[answer].played, outcomes[answer].hung_up) == ([AUDIO], False), answer
        for answer in NOBODY_TO_TELL:
            assert (outcomes[answer].played, outcomes[answer].hung_up) == ([], True), answer
        delivered = campaign_events(service, campaign_id, Enrollment.StepDelivered)
        assert len(delivered) == len(MACHINE_ANSWERS)
        assert all(before <= e.delivered_at <= after for e in delivered)
        [human] = campaign_events(service, campaign_id, Enrollment.StepAnsweredByHuman)
        assert before <= human.answered_at <= after
        undelivered = campaign_events(service, campaign_id, Enrollment.StepUndelivered)
        assert sorted(e.reason for e in undelivered) == [
            "answering machine detection: fax",
            "answering machine detection: unknown",
        ]
        assert all(before <= e.undelivered_at <= after for e in undelivered)
        expected = {call["to"]: "delivered" for call in calls[: len(MACHINE_ANSWERS)]}
        expected[calls[len(MACHINE_ANSWERS)]["to"]] = "answered_by_human"
        expected.update({call["to"]: "undelivered" for call in calls[len(MACHINE_ANSWERS) + 1 :]})
        eventually(lambda: _execution_statuses(service, client, campaign_id) == expected)


def test_each_call_status_that_says_nobody_picked_up_records_the_voicemail_undelivered_with_it(
    database_url, fake_twilio
):
    with service_with_twilio(database_url, fake_twilio) as service:
        client, campaign_id, calls = _voicemails_placed(service, fake_twilio, len(NOBODY_PICKED_UP) + 1)
        *unanswered, ringing = calls
        before = datetime.now(UTC)

        for call, status in zip(unanswered, NOBODY_PICKED_UP, strict=True):
            assert fake_twilio.call_ended(call, "ringing").status == 200  # on its way: nothing yet
            assert fake_twilio.call_ended(call, status).status == 200
            assert fake_twilio.call_ended(call, status).status == 200  # Twilio's retry: once only
        assert fake_twilio.call_ended(ringing, "ringing").status == 200

        after = datetime.now(UTC)
        undelivered = campaign_events(service, campaign_id, Enrollment.StepUndelivered)
        assert sorted(e.reason for e in undelivered) == sorted(f"call {s}" for s in NOBODY_PICKED_UP)
        assert all(before <= e.undelivered_at <= after and not e.hard for e in undelivered)
        expected = {call["to"]: "undelivered" for call in unanswered} | {ringing["to"]: "sent"}
        eventually(lambda: _execution_statuses(service, client, campaign_id) == expected)


def test_help_and_start_keywords_are_understood_in_any_case_and_spacing_and_a_sentence_is_a_reply(
    database_url, fake_twilio
):
    ann = "+14155550100"
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        settings = {
            "allowed_from": "00:00",
            "allowed_until": "24:00",
            "help_text": "Acme: help at acme.example",
        }
        client.ok(client.http.put("/v1/messaging-settings", json=settings))

        def answer_to(body: str) -> list[tuple[str, str | None]]:
            answer = fake_twilio.text_in(brand.account, ann, SMS_NUMBER, body, brand.sms_url)
            assert answer.status == 200, answer.body
            return [(m.tag, m.text) for m in ElementTree.fromstring(answer.body)]

        def suppressed() -> list[str]:
            return [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]]

        for word in ("HELP", "help", " Help ", "INFO", "info", "\tInfo\n"):
            assert answer_to(word) == [("Message", "Acme: help at acme.example")], repr(word)
        for sentence in ("help me understand the offer", "please stop calling my office line today"):
            assert answer_to(sentence) == [], sentence
            assert suppressed() == [], sentence
        for word in ("START", "start", " Start\n", "UNSTOP", "unstop", "  UnStop  "):
            answer_to("STOP")
            assert suppressed() == [ann]
            assert answer_to(word) == [], repr(word)
            assert suppressed() == [], repr(word)


def test_each_opt_out_keyword_on_its_own_suppresses_the_number_in_any_case_and_spacing(
    database_url, fake_twilio
):
    ann = "+14155550100"
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client

        def suppressed() -> list[str]:
            return [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]]

        for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
            for spelling in (word, word.lower(), word.capitalize(), f"  {word.lower()}\n"):
                assert suppressed() == [], "lifted before each keyword, so each one is seen on its own"
                answer = fake_twilio.text_in(brand.account, ann, SMS_NUMBER, spelling, brand.sms_url)
                assert answer.status == 200 and list(ElementTree.fromstring(answer.body)) == []
                assert suppressed() == [ann], repr(spelling)
                fake_twilio.text_in(brand.account, ann, SMS_NUMBER, "START", brand.sms_url)
