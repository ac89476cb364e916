"""The errors a client is told about carry their message and their problem details exactly, and
the storage limits name what storage cannot hold and where.
"""

from __future__ import annotations

import pytest

from domain.errors import DomainError, InsufficientCredits, InvalidCampaign, InvalidInput
from domain.limits import is_time_zone, text_problem

ERRORS = [{"field": "name", "problem": "too long"}]


def test_invalid_input_without_field_errors_has_no_details() -> None:
    error = InvalidInput("bad request")
    assert (str(error), error.errors, error.details()) == ("bad request", [], {})


def test_invalid_input_lists_each_field_error_in_its_details() -> None:
    error = InvalidInput("bad request", ERRORS)
    assert (str(error), error.errors, error.details()) == ("bad request", ERRORS, {"errors": ERRORS})


def test_an_invalid_campaign_is_a_domain_error_and_invalid_input_with_its_message_and_errors() -> None:
    error = InvalidCampaign("steps are wrong", ERRORS)
    assert isinstance(error, DomainError) and isinstance(error, InvalidInput)
    assert (str(error), error.errors, error.details()) == ("steps are wrong", ERRORS, {"errors": ERRORS})
    assert InvalidCampaign("no steps").details() == {}


def test_insufficient_credits_says_what_was_needed_and_what_is_available() -> None:
    error = InsufficientCredits(needed=120, available=45)
    assert str(error) == "120 credits are needed, 45 are available"
    assert error.details() == {"needed": 120, "available": 45}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("plain text, accents é and emoji 🎉", None),
        ("abc\x00", "contains a NUL character at position 3"),
        ("ab\ud800c\x00", "contains an unpaired surrogate at position 2"),
        ("a\x00\udfff", "contains a NUL character at position 1"),
    ],
)
def test_text_storage_cannot_hold_is_named_with_its_position(text, problem) -> None:
    assert text_problem(text) == problem


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("Europe/Paris", True),
        ("America/New_York", True),
        ("UTC", True),
        ("Mars/Olympus_Mons", False),
        ("", False),
    ],
)
def test_a_time_zone_is_known_when_the_tz_database_holds_it(name, known) -> None:
    assert is_time_zone(name) is known
