"""The deliverability guard's pure parts: the limits and their ranges, when a window breaks them
(and with which figures), a campaign's pause by the guard, and an opt-out recorded against the send
it answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.campaign import Campaign, CampaignStatus, PausedBy
from domain.deliverability import (
    MAX_WINDOW_SENDS,
    Breach,
    DeliverabilitySettings,
    InvalidDeliverabilitySettings,
    Measure,
    Window,
    breach,
    measures_of,
    waits,
)
from domain.enrollment import Enrollment, WithdrawalCause
from domain.steps import Step, StepType

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEN_OF_TWENTY = DeliverabilitySettings(
    max_bounce_rate=0.1, max_opt_out_rate=0.05, min_sends=10, window_sends=20
)
BOTH = (Measure.BOUNCE_RATE, Measure.OPT_OUT_RATE)


def test_the_defaults_are_the_contracts() -> None:
    assert DeliverabilitySettings() == DeliverabilitySettings(0.05, 0.02, 50, 500)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"max_bounce_rate": 1.0001}, "max_bounce_rate"),
        ({"max_bounce_rate": -0.0001}, "max_bounce_rate"),
        ({"max_opt_out_rate": 1.5}, "max_opt_out_rate"),
        ({"min_sends": 0}, "min_sends"),
        ({"min_sends": 500, "window_sends": 499}, "window_sends"),
        ({"window_sends": MAX_WINDOW_SENDS + 1}, "window_sends"),
    ],
)
def test_limits_out_of_range_are_refused_naming_the_field(settings, field) -> None:
    with pytest.raises(InvalidDeliverabilitySettings) as refused:
        DeliverabilitySettings(**settings)
    assert [error["field"] for error in refused.value.errors] == [field]


def test_limits_at_their_bounds_are_kept() -> None:
    DeliverabilitySettings(0, 1, 1, 1)
    DeliverabilitySettings(1, 0, MAX_WINDOW_SENDS, MAX_WINDOW_SENDS)


def test_a_rate_above_its_maximum_is_a_breach_with_the_figures() -> None:
    found = breach(Window(sends=10, hard_bounces=2, opt_outs=0), TEN_OF_TWENTY, "email", BOTH)
    assert found == Breach(Measure.BOUNCE_RATE, "email", 20, 10, 2, 0.2, 0.1)
    assert found.figures() == {
        "measure": "bounce_rate",
        "channel": "email",
        "window_sends": 20,
        "sends": 10,
        "count": 2,
        "rate": 0.2,
        "threshold": 0.1,
    }
    assert found.reason == (
        "hard-bounce rate 20.0% over the last 10 email sends (2 of 10) is above the maximum 10.0%"
    )


def test_a_rate_at_its_maximum_or_under_min_sends_is_no_breach() -> None:
    assert breach(Window(sends=10, hard_bounces=1, opt_outs=0), TEN_OF_TWENTY, "email", BOTH) is None
    assert breach(Window(sends=9, hard_bounces=9, opt_outs=9), TEN_OF_TWENTY, "email", BOTH) is None
    assert breach(Window(sends=10, hard_bounces=2, opt_outs=0), TEN_OF_TWENTY, "email", BOTH) is not None


def test_texts_are_judged_on_opt_outs_only() -> None:
    assert measures_of("sms") == (Measure.OPT_OUT_RATE,)
    assert measures_of("email") == BOTH
    bounced = Window(sends=10, hard_bounces=5, opt_outs=0)
    assert breach(bounced, TEN_OF_TWENTY, "sms", measures_of("sms")) is None
    opted_out = breach(Window(10, 0, 1), TEN_OF_TWENTY, "sms", measures_of("sms"))
    assert opted_out is not None and (opted_out.measure, opted_out.rate) == (Measure.OPT_OUT_RATE, 0.1)
    assert opted_out.reason.startswith("opt-out rate 10.0%")


def _active() -> Campaign:
    campaign = Campaign.create(
        uuid4(), uuid4(), "guarded", [Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b")], T0
    )
    campaign.launch(T0, 1)
    return campaign


def test_the_guard_pauses_only_an_active_campaign_and_says_so() -> None:
    campaign = _active()
    found = Breach(Measure.BOUNCE_RATE, "email", 20, 10, 2, 0.2, 0.1)
    assert campaign.pause_for_deliverability(T0 + timedelta(hours=1), found)
    assert campaign.status is CampaignStatus.PAUSED
    assert campaign.current_pause is not None
    assert (campaign.current_pause.by, campaign.current_pause.reason) == (
        PausedBy.DELIVERABILITY_GUARD,
        found.reason,
    )
    assert not campaign.pause_for_deliverability(T0 + timedelta(hours=2), found)  # already paused
    paused = [e for e in campaign.collect_events() if isinstance(e, Campaign.CampaignPaused)]
    assert [(e.by, e.figures) for e in paused] == [("deliverability guard", found.figures())]

    campaign.resume(T0 + timedelta(hours=3))
    assert campaign.current_pause is None


def test_a_users_pause_says_user_and_no_reason() -> None:
    campaign = _active()
    campaign.pause(T0 + timedelta(hours=1))
    assert campaign.current_pause is not None
    assert (campaign.current_pause.by, campaign.current_pause.reason) == (PausedBy.USER, None)


def test_an_opt_out_is_recorded_once_against_the_last_send_of_its_channel() -> None:
    steps = [
        Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b"),
        Step("e1", StepType.EMAIL, 0, order=1, subject="s", body="b"),
        Step("e2", StepType.EMAIL, 0, order=2, subject="s", body="b"),
        Step("s0", StepType.SMS, 0, order=3, body="b"),
    ]
    addresses = {"email": "ann@example.com", "sms": "+14155550000"}
    campaign = uuid4()
    enrollment = Enrollment.enroll(campaign, uuid4(), uuid4(), addresses, steps, T0)
    assert enrollment is not None
    enrollment.dispatch_due(T0)
    assert not enrollment.record_opt_out("email", WithdrawalCause.UNSUBSCRIBED, T0)  # nothing sent yet
    for step_id in ("e0", "e1", "e2"):
        enrollment.attempt(step_id, "sender-1", T0)
        enrollment.record_sent(step_id, f"p-{step_id}", 1, T0)

    later = T0 + timedelta(hours=3)
    assert enrollment.record_opt_out("email", WithdrawalCause.UNSUBSCRIBED, later)
    assert not enrollment.record_opt_out("email", WithdrawalCause.UNSUBSCRIBED, later)  # once
    assert not enrollment.record_opt_out("sms", WithdrawalCause.STOP_KEYWORD, later)  # no text sent
    [opted_out] = [e for e in enrollment.collect_events() if isinstance(e, Enrollment.ContactOptedOut)]
    assert (opted_out.channel, opted_out.step_id, opted_out.cause) == ("email", "e2", "unsubscribed")
    assert (opted_out.campaign_id, opted_out.opted_out_at) == (campaign, later)


def test_every_limit_out_of_range_is_named_with_what_it_must_be() -> None:
    with pytest.raises(InvalidDeliverabilitySettings) as refused:
        DeliverabilitySettings(
            max_bounce_rate=1.5, max_opt_out_rate=-0.1, min_sends=0, window_sends=MAX_WINDOW_SENDS + 1
        )
    assert str(refused.value) == "deliverability settings out of range"
    assert refused.value.errors == [
        {"field": "max_bounce_rate", "error": "must be between 0 and 1"},
        {"field": "max_opt_out_rate", "error": "must be between 0 and 1"},
        {"field": "min_sends", "error": "must be at least 1"},
        {"field": "window_sends", "error": f"must be at least min_sends and at most {MAX_WINDOW_SENDS}"},
    ]


@pytest.mark.parametrize(
    ("window", "measures", "waiting"),
    [
        (Window(sends=9, hard_bounces=1, opt_outs=0), BOTH, True),  # a bounce, one send short
        (Window(sends=0, hard_bounces=0, opt_outs=1), BOTH, True),  # an opt-out before any send
        (Window(sends=10, hard_bounces=3, opt_outs=0), BOTH, False),  # enough sends: judged now
        (Window(sends=9, hard_bounces=0, opt_outs=0), BOTH, False),  # nothing to judge later
        (Window(sends=9, hard_bounces=2, opt_outs=0), (Measure.OPT_OUT_RATE,), False),  # texts
        (Window(sends=9, hard_bounces=0, opt_outs=2), (Measure.OPT_OUT_RATE,), True),
    ],
)
def test_a_window_waits_for_more_sends_only_with_an_outcome_it_is_held_to_and_too_few_sends(
    window, measures, waiting
) -> None:
    assert waits(window, TEN_OF_TWENTY, measures) is waiting
