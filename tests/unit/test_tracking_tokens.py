"""Tracking tokens name brand, campaign, enrollment, step and link index; only our secret makes one."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.audience.unsubscribe_tokens import UnsubscribeRequest, UnsubscribeTokens
from commands.signed_tokens import SignedTokens
from commands.tracking.tracking_tokens import TrackedStep, TrackingTokens

SECRET = b"a test secret of enough length"
TOKENS = TrackingTokens(SECRET)
OPENED = TrackedStep(uuid4(), uuid4(), uuid4(), "step-1")
CLICKED = TrackedStep(OPENED.brand_id, OPENED.campaign_id, OPENED.enrollment_id, "step-1", 3)


def test_open_and_click_tokens_read_back_as_what_they_were_made_for():
    assert TOKENS.read(TOKENS.token(OPENED)) == OPENED
    assert TOKENS.read(TOKENS.token(CLICKED)) == CLICKED
    assert TOKENS.token(CLICKED) == TOKENS.token(CLICKED)  # deterministic: a resend carries the same links


@pytest.mark.parametrize("link", [0, 255, 256, 300, 65535])
def test_a_click_token_names_its_link_among_the_sixty_five_thousand_a_step_may_have(link):
    clicked = TrackedStep(OPENED.brand_id, OPENED.campaign_id, OPENED.enrollment_id, "step-1", link)
    assert TOKENS.read(TOKENS.token(clicked)) == clicked


def test_a_token_that_names_no_step_reads_as_nothing():
    nameless = TrackedStep(OPENED.brand_id, OPENED.campaign_id, OPENED.enrollment_id, "")
    assert TOKENS.read(TOKENS.token(nameless)) is None
    assert TOKENS.read(TOKENS.token(TrackedStep(*[*vars(nameless).values()][:4], 0))) is None


def test_a_token_is_url_safe():
    assert all(c.isalnum() or c in "-_." for c in TOKENS.token(CLICKED))


def test_a_token_made_with_another_secret_is_refused():
    forged = TrackingTokens(b"someone else's secret, long too").token(CLICKED)
    assert TOKENS.read(forged) is None


@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw-_9z."))
def test_any_altered_character_makes_the_token_unreadable(position, replacement):
    for tracked in (OPENED, CLICKED):
        token = TOKENS.token(tracked)
        at = position % len(token)
        altered = token[:at] + replacement + token[at + 1 :]
        if altered != token:
            assert TOKENS.read(altered) is None


def test_another_link_cannot_be_named_by_swapping_the_payload():
    other_payload, _ = TOKENS.token(TrackedStep(*[*vars(CLICKED).values()][:4], 0)).split(".")
    _, mac = TOKENS.token(CLICKED).split(".")
    assert TOKENS.read(f"{other_payload}.{mac}") is None


def test_an_unsubscribe_token_with_the_same_secret_is_not_a_tracking_token():
    unsubscribe = UnsubscribeTokens(SECRET).token(UnsubscribeRequest(uuid4(), uuid4(), uuid4(), "a@b.co"))
    assert TOKENS.read(unsubscribe) is None


def test_garbage_is_not_a_token():
    for garbage in ("", ".", "abc", "a.b.c", "!!!.???", "x" * 500, "AAAA.AAAA"):
        assert TOKENS.read(garbage) is None


def test_the_secret_is_never_shown_and_must_be_long_enough():
    # What a log line or a traceback shows: the kind of tokens, never the secret.
    assert repr(TOKENS) == "TrackingTokens(secret=<hidden>)"
    assert repr(SignedTokens(b"a test secret of enough length", "tracking")) == (
        "SignedTokens(label='tracking', secret=<hidden>)"
    )
    with pytest.raises(ValueError):
        TrackingTokens(b"short")
