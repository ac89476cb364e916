"""The Campaign aggregate re-checks CONTRACT.md's limits itself, whatever the boundary let through.

A step list past 100 steps, a group or wait past 365 days, more than 50 lead groups, a name past 200
characters or holding a NUL, or step text holding an unpaired surrogate is refused with
InvalidCampaign before any event exists, so no due-date arithmetic or column meets it later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.campaign import Campaign
from domain.errors import InvalidCampaign
from domain.steps import Step, StepType
from tests.unit.messages import exactly

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _email(n: int = 0, group: int = 0, **content) -> Step:
    fields = {"subject": "Hi", "body": "Hello", **content}
    return Step(id=f"s{n}", type=StepType.EMAIL, group=group, order=n, **fields)


def _create(steps: list[Step], **options) -> Campaign:
    return Campaign.create(uuid4(), uuid4(), options.pop("name", "Q4"), steps, T0, **options)


@pytest.mark.parametrize(
    ("steps", "options", "message"),
    [
        ([_email(n) for n in range(101)], {}, "a campaign has at most 100 steps, not 101"),
        ([_email(group=366)], {}, "step s0: group must be 0 to 365"),
        (
            [Step(id="w", type=StepType.WAIT, group=0, order=0, wait_days=366)],
            {},
            "step w: wait_days must be 0 to 365",
        ),
        (
            [_email()],
            {"lead_group_ids": [str(uuid4()) for _ in range(51)]},
            "a campaign has at most 50 lead groups",
        ),
        ([_email()], {"name": "n" * 201}, "a campaign name has 1 to 200 characters"),
        ([_email()], {"name": "Q4\x00"}, "the campaign's name contains a NUL character at position 2"),
        ([_email(subject="s" * 999)], {}, "step s0: subject is longer than 998 characters"),
        ([_email(body="b\ud800")], {}, "step s0: body contains an unpaired surrogate at position 1"),
        (
            [Step(id="m", type=StepType.SMS, group=0, order=0, body="b" * 1601)],
            {},
            "step m: body is longer than 1600 characters",
        ),
        (
            [Step(id="v", type=StepType.VOICEMAIL, group=0, order=0, audio_url="ftp://x/a.mp3")],
            {},
            "step v: audio_url must be an http(s) URL",
        ),
    ],
    ids=[
        "101 steps",
        "group 366",
        "wait 366 days",
        "51 lead groups",
        "long name",
        "NUL name",
        "long subject",
        "surrogate body",
        "long SMS",
        "not http audio",
    ],
)
def test_a_campaign_past_a_limit_is_refused_and_says_which(steps, options, message):
    with pytest.raises(InvalidCampaign, match=exactly(message)):
        _create(steps, **options)


def test_a_campaign_at_the_limits_is_accepted():
    steps = [_email(n, group=365 if n == 0 else 0) for n in range(100)]
    campaign = _create(steps, name="n" * 200, lead_group_ids=[str(uuid4()) for _ in range(50)])
    assert len(campaign.steps) == 100
