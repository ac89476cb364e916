"""Each upcaster of an Enrollment event turns the state stored by an older release into today's
shape, and leaves what the stored state already says alone. Stored words are written out as an
older release stored them."""

from __future__ import annotations

from typing import Any

import pytest

from domain.enrollment import REPLIED, Enrollment

UPCASTS: list[tuple[Any, int, dict[str, Any], dict[str, Any]]] = [
    (Enrollment.ContactEnrolled, 1, {}, {"window": None, "timezone": "UTC"}),
    (Enrollment.ContactEnrolled, 2, {}, {"group": None, "due_at": None}),
    (Enrollment.ContactEnrolled, 3, {}, {"dispatched": None}),
    (Enrollment.ContactEnrolled, 4, {}, {"address_hashes": None}),
    (Enrollment.StepDispatched, 1, {}, {"redispatched": False}),
    (Enrollment.StepAttempted, 1, {}, {"campaign_id": None}),
    (Enrollment.StepSent, 1, {}, {"personalisation": "template"}),
    (Enrollment.StepSent, 2, {}, {"next_group": None, "next_due_at": None, "finished": False}),
    (Enrollment.StepWithdrawn, 1, {"reason": REPLIED}, {"reason": REPLIED, "cause": "replied"}),
    (
        Enrollment.StepWithdrawn,
        1,
        {
            "reason": "address suppressed: unsubscribed (one-click, campaign 0c8d1e6a-5f00-4d8e-9b1e-2f4b1c9a7e01)"
        },
        {"cause": "unsubscribed"},
    ),
    (
        Enrollment.StepWithdrawn,
        1,
        {"reason": "address suppressed: SMS keyword STOP"},
        {"cause": "stop_keyword"},
    ),
    (Enrollment.StepWithdrawn, 1, {"reason": "address suppressed: manual"}, {"cause": "suppressed"}),
]


@pytest.mark.parametrize(("cls", "version", "stored", "added"), UPCASTS)
def test_an_upcaster_adds_what_the_older_version_lacked(cls, version, stored, added) -> None:
    state = {"step_id": "e0", **stored}
    getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
    assert state == {"step_id": "e0", **stored, **added}


@pytest.mark.parametrize(("cls", "version", "stored", "added"), UPCASTS)
def test_an_upcaster_keeps_a_field_the_state_already_has(cls, version, stored, added) -> None:
    kept = {name: "kept" for name in added if name not in stored}
    state = {**stored, **kept}
    getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
    assert state == {**stored, **kept} | {k: v for k, v in added.items() if k in stored}


@pytest.mark.parametrize(("channel", "hard"), [("email", True), ("sms", False), ("voicemail", False)])
def test_an_old_undelivered_email_was_a_hard_bounce_and_an_old_text_or_call_was_not(channel, hard) -> None:
    state = {"step_id": "e0", "channel": channel}
    Enrollment.StepUndelivered.upcast_v1_v2(state)
    assert state == {"step_id": "e0", "channel": channel, "hard": hard}


def test_an_undelivered_state_that_says_whether_it_was_hard_keeps_its_word() -> None:
    state = {"channel": "email", "hard": False}
    Enrollment.StepUndelivered.upcast_v1_v2(state)
    assert state == {"channel": "email", "hard": False}
