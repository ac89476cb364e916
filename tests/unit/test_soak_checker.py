"""The soak's checker (soak/checker.py) names each kind of violation planted in an otherwise clean
history: a step sent twice at the provider, a send the history does not record, a StepSent no
provider took, a step recorded sent twice, a campaign left unfinished or with credits out of
balance, an audit that failed, a schedule that sent nothing. A checker that cannot fail proves
nothing; and it keys every provider's send by its step, as the soak reads them from the fakes."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from consumers.providers.gmail.outgoing_mail import message_id_for
from provider_fakes.google import SentMessage
from soak.checker import ProviderSend, check, gmail_sends, readable, step_keys, twilio_sends

ENROLLMENT = "5d1c0d1e-0000-4000-8000-000000000001"
PLAN = [{"id": "s1", "type": "SMS", "group": 0}, {"id": "s2", "type": "EMAIL", "group": 0}]
BALANCED = {"reserved": 2, "consumed": 1, "released": 1, "outstanding": 0}


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "aggregate_id": ENROLLMENT, "data": data}


def sent(step: str, provider_id: str) -> dict[str, Any]:
    return event("StepSent", step_id=step, channel="sms", provider_message_id=provider_id)


def history(*more: dict[str, Any]) -> list[dict[str, Any]]:
    return [event("ContactEnrolled", plan=PLAN), sent("s1", "SM1"), *more]


def kinds(
    events: list[dict[str, Any]],
    sends: list[ProviderSend],
    campaigns: dict[str, Any] | None = None,
    audits: dict[str, int] | None = None,
) -> list[str]:
    campaigns = {"c1": {"status": "COMPLETED", "credits": BALANCED}} if campaigns is None else campaigns
    verdict = check(events, sends, campaigns, {"audit credits": 0} if audits is None else audits)
    return [v.kind for v in verdict.violations]


SMS = ProviderSend("sms", f"{ENROLLMENT}:s1", "SM1")


def test_a_clean_history_has_no_violation_and_counts_its_sends():
    verdict = check(history(), [SMS], {"c1": {"status": "COMPLETED", "credits": BALANCED}}, {"a": 0})
    assert verdict.violations == [] and verdict.sends_checked == 1


@pytest.mark.parametrize(
    ("events", "sends", "named"),
    [
        (history(), [SMS, ProviderSend("sms", SMS.key, "SM2")], ["sent twice", "recorded with another id"]),
        (history(), [SMS, ProviderSend("email", f"{ENROLLMENT}:s2", "g1")], ["sent, not recorded"]),
        (history(sent("s2", "g9")), [SMS], ["recorded, not sent"]),
        (history(sent("s1", "SM1")), [SMS], ["recorded sent twice"]),
        (history(), [], ["recorded, not sent", "nothing sent"]),
    ],
    ids=["double send", "send not recorded", "record not sent", "recorded twice", "nothing sent"],
)
def test_each_planted_violation_of_the_sends_is_named(events, sends, named):
    assert kinds(events, sends) == named


def test_an_unfinished_or_unbalanced_campaign_and_a_failed_audit_are_named():
    campaigns = {
        "active": {"status": "ACTIVE", "credits": BALANCED},
        "short": {"status": "COMPLETED", "credits": {**BALANCED, "released": 0}},
        "unread": None,
    }
    found = kinds(history(), [SMS], campaigns, {"audit consent --brand b": 1})
    assert found == ["unfinished campaign", "credits unbalanced", "unfinished campaign", "audit failed"]


def test_the_providers_sends_are_keyed_by_their_step():
    key = f"{ENROLLMENT}:s2"
    mail = EmailMessage()
    mail["From"], mail["To"] = "sales@brand.example", "ann@leads.example"
    mail["Message-ID"] = message_id_for(key, "sales@brand.example")
    mail.set_content("Hello")
    email = SentMessage("g1", "g1", "sales@brand.example", mail.as_bytes())
    assert gmail_sends([email], step_keys(history())) == [ProviderSend("email", key, "g1")]

    callback = f"http://127.0.0.1:1/webhooks/twilio/status?key={ENROLLMENT}%3As1"
    texts = [{"sid": "SM1", "form": {"StatusCallback": callback}}]
    calls = [{"sid": "CA1", "form": {"Url": callback.replace("status", "voice")}}]
    assert twilio_sends(texts, calls) == [SMS, ProviderSend("voicemail", SMS.key, "CA1")]


def test_an_email_of_no_step_is_named_as_not_recorded():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Message-ID"] = "sales@brand.example", "x@leads.example", "<stray@x>"
    mail.set_content("?")
    stray = gmail_sends(
        [SentMessage("g2", "g2", "sales@brand.example", mail.as_bytes())], step_keys(history())
    )
    assert kinds(history(), [SMS, *stray]) == ["sent, not recorded"]


def test_exported_data_written_as_json_text_is_read():
    assert readable([{"type": "X", "data": '{"a": 1}'}]) == [{"type": "X", "data": {"a": 1}}]
