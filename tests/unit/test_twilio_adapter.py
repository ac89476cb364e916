"""The Twilio adapter's pure parts: where its REST calls go, what each Twilio error means for the
step, and that a logged request path never shows the account SID."""

from __future__ import annotations

import logging

import pytest
from twilio.base.exceptions import TwilioRestException

from consumers.providers.twilio import refusal
from consumers.providers.twilio_http import AccountHidden, RoutedTwilioHttpClient

URI = "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:9999", f"http://127.0.0.1:9999{URI}?PageSize=50"),
        ("https://gateway.example/twilio/", f"https://gateway.example/twilio{URI}?PageSize=50"),
    ],
)
def test_every_rest_call_goes_to_the_configured_base(base: str, expected: str) -> None:
    client = RoutedTwilioHttpClient(base)
    assert client.rewrite(f"https://api.twilio.com{URI}?PageSize=50") == expected
    assert client.rewrite(f"https://api.dublin.ie1.twilio.com{URI}?PageSize=50") == expected


def rest_error(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(
        status, f"https://api.twilio.com{URI}", msg="refused", code=code, method="POST"
    )


def test_an_opted_out_recipient_is_a_permanent_refusal_that_asks_for_suppression() -> None:
    outcome = refusal(rest_error(400, 21610))
    assert outcome.permanent and outcome.opted_out and outcome.error == "twilio 21610: refused"


@pytest.mark.parametrize(("status", "code"), [(400, 21211), (400, 21606), (401, 20003)])
def test_invalid_numbers_and_other_refusals_are_permanent(status: int, code: int) -> None:
    outcome = refusal(rest_error(status, code))
    assert outcome.permanent and not outcome.opted_out


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, None), (503, None), (502, 20500)])
def test_too_many_requests_and_server_errors_are_transient(status: int, code: int | None) -> None:
    outcome = refusal(rest_error(status, code))
    assert not outcome.permanent and outcome.error is not None


def test_a_refusal_never_carries_the_request_url_with_the_account() -> None:
    assert "AC0123456789abcdef" not in (refusal(rest_error(400, 21211)).error or "")


def test_a_logged_request_path_hides_the_account_sid() -> None:
    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, '"POST %s HTTP/1.1" 201', (URI,), None)
    assert AccountHidden().filter(record)
    assert record.getMessage() == '"POST /2010-04-01/Accounts/<account>/Messages.json HTTP/1.1" 201'
