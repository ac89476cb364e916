"""The fake Twilio refuses what Twilio refuses, so the adapter's tests against it mean something:
driven here through the real SDK, the way the adapter drives it."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from consumers.providers.twilio_http import RoutedTwilioHttpClient

OURS, THEIRS = "+14155550199", "+14155550100"


def sdk(fake, sid: str, token: str) -> Client:
    return Client(sid, token, http_client=RoutedTwilioHttpClient(fake.url, timeout=5))


def code_of(call) -> int:
    with pytest.raises(TwilioRestException) as refused:
        call()
    return refused.value.code


def test_the_fake_checks_credentials_numbers_and_bodies(fake_twilio):
    account = fake_twilio.add_account([OURS])
    client = sdk(fake_twilio, account.sid, account.token)
    assert (
        code_of(
            lambda: sdk(fake_twilio, account.sid, "wrong").messages.create(to=THEIRS, from_=OURS, body="x")
        )
        == 20003
    )
    assert code_of(lambda: client.messages.create(to="4155550100", from_=OURS, body="x")) == 21211
    assert code_of(lambda: client.messages.create(to=THEIRS, from_="+14155550111", body="x")) == 21606
    assert code_of(lambda: client.messages.create(to=THEIRS, from_=OURS, body="")) == 21602
    fake_twilio.opted_out.add(THEIRS)
    assert code_of(lambda: client.messages.create(to=THEIRS, from_=OURS, body="x")) == 21610
    assert fake_twilio.messages == []


def test_the_fake_checks_calls_twiml_and_machine_detection(fake_twilio):
    account = fake_twilio.add_account([OURS])
    calls = sdk(fake_twilio, account.sid, account.token).calls
    assert code_of(lambda: calls.create(to=THEIRS, from_=OURS)) == 21205
    assert code_of(lambda: calls.create(to=THEIRS, from_=OURS, twiml="<Play>x</Play>")) == 12100
    assert (
        code_of(lambda: calls.create(to=THEIRS, from_=OURS, twiml="<Response>", machine_detection="Enable"))
        == 12100
    )
    bad_amd = {"url": "http://127.0.0.1/voice", "machine_detection": "Maybe"}
    assert code_of(lambda: calls.create(to=THEIRS, from_=OURS, **bad_amd)) == 21626
    no_callback = {
        "url": "http://127.0.0.1/voice",
        "machine_detection": "DetectMessageEnd",
        "async_amd": "true",
    }
    assert code_of(lambda: calls.create(to=THEIRS, from_=OURS, **no_callback)) == 21626
    call = calls.create(
        to=THEIRS, from_=OURS, twiml="<Response><Play>https://a.example/x.mp3</Play></Response>"
    )
    assert call.sid.startswith("CA") and [c["sid"] for c in fake_twilio.calls] == [call.sid]


def test_injected_answers_come_in_order_and_lists_find_what_was_taken(fake_twilio):
    account = fake_twilio.add_account([OURS])
    messages = sdk(fake_twilio, account.sid, account.token).messages
    fake_twilio.fail_next(20429, status=429)
    fake_twilio.fail_next(None, status=500)
    with pytest.raises(TwilioRestException) as busy:
        messages.create(to=THEIRS, from_=OURS, body="x")
    assert (busy.value.status, busy.value.code) == (429, 20429)
    with pytest.raises(TwilioRestException) as broken:
        messages.create(to=THEIRS, from_=OURS, body="x")
    assert broken.value.status == 500
    sent = messages.create(to=THEIRS, from_=OURS, body="x")
    listed = messages.list(to=THEIRS, from_=OURS)
    assert [m.sid for m in listed] == [sent.sid] and listed[0].body == "x"
