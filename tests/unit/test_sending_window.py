"""Sending windows move a due time forward to the first open moment, in local time, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCampaign
from domain.sending_window import DAYS, SendingWindow

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"]
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def windows(draw) -> SendingWindow:
    days = draw(st.sets(st.sampled_from(DAYS), min_size=1))
    start = draw(st.integers(0, 23 * 60 + 58))
    end = draw(st.one_of(st.none(), st.integers(start + 1, 24 * 60 - 1)))
    return SendingWindow(
        frozenset(days), time(start // 60, start % 60), None if end is None else time(end // 60, end % 60)
    )


def _locally_open(window: SendingWindow, moment: datetime, zone: str) -> bool:
    local = moment.astimezone(ZoneInfo(zone))
    after_start = local.time().replace(tzinfo=None) >= window.start
    before_end = window.end is None or local.time().replace(tzinfo=None) < window.end
    return DAYS[local.weekday()] in window.days and after_start and before_end


@settings(max_examples=300)
@given(windows(), MOMENTS, st.sampled_from(ZONES))
def test_the_next_open_moment_is_never_earlier_and_is_inside_the_window(window, due, zone):
    opened = window.next_open(due, zone)
    assert opened >= due
    assert opened - due < timedelta(days=8)
    # Inside the window, or the first valid instant after a start time skipped by a DST gap.
    assert _locally_open(window, opened, zone) or _locally_open(window, opened + timedelta(minutes=1), zone)


@settings(max_examples=300)
@given(windows(), MOMENTS, st.sampled_from(ZONES))
def test_no_open_minute_is_skipped_before_the_answer(window, due, zone):
    opened = window.next_open(due, zone)
    probe = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    steps = 0
    while probe < opened - timedelta(minutes=1) and steps < 300:
        assert not _locally_open(window, probe, zone) or probe.astimezone(ZoneInfo(zone)).fold
        probe += timedelta(minutes=37)
        steps += 1


@given(windows(), MOMENTS, st.sampled_from(ZONES))
def test_a_moment_already_open_is_kept(window, due, zone):
    opened = window.next_open(due, zone)
    assert window.next_open(opened, zone) == opened


def test_a_saturday_moves_to_monday_morning_in_the_contacts_zone():
    window = SendingWindow.from_dict(
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    )
    saturday_noon = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert window.next_open(saturday_noon, "America/New_York") == datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert window.next_open(saturday_noon, "Europe/Berlin") == datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_a_window_keeps_its_local_hours_across_daylight_saving_changes():
    window = SendingWindow.from_dict({"start": "09:00", "end": "10:00"})
    before = window.next_open(datetime(2026, 3, 7, 0, tzinfo=UTC), "America/New_York")
    after = window.next_open(datetime(2026, 3, 9, 0, tzinfo=UTC), "America/New_York")
    assert before == datetime(2026, 3, 7, 14, tzinfo=UTC)  # EST, UTC-5
    assert after == datetime(2026, 3, 9, 13, tzinfo=UTC)  # EDT, UTC-4


def test_a_start_inside_the_spring_forward_gap_opens_right_after_it():
    window = SendingWindow.from_dict({"start": "02:30", "end": "04:00"})
    opened = window.next_open(datetime(2026, 3, 8, 5, tzinfo=UTC), "America/New_York")
    assert opened == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT, the first valid moment


@pytest.mark.parametrize(
    "bad",
    [{"days": []}, {"days": ["funday"]}, {"start": "10:00", "end": "09:00"}, {"start": "24:00"}],
)
def test_malformed_windows_are_refused(bad):
    with pytest.raises(InvalidCampaign):
        SendingWindow.from_dict(bad)
