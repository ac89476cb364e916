"""Sending windows at their edges: a window's hours are local wall-clock times, so on the day the
clocks go forward a start inside the gap opens at the first valid instant after it, and on the day
they go back a start inside the repeated hour opens at its first occurrence. The answers are exact
UTC instants, and do not depend on the time zone of the machine computing them.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, time, timedelta

import pytest

from domain.errors import InvalidCampaign
from domain.sending_window import DAYS, SendingWindow
from tests.unit.messages import exactly

NEW_YORK, PARIS = "America/New_York", "Europe/Paris"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(start: str, end: str = "24:00", days: tuple[str, ...] = DAYS) -> SendingWindow:
    return SendingWindow.from_dict({"days": list(days), "start": start, "end": end})


# (window start, due, zone, first open moment). New York springs forward on 2026-03-08 at 02:00
# (EST, UTC-5, to EDT, UTC-4) and falls back on 2026-11-01 at 02:00; Paris on 2026-03-29 at 02:00
# (CET, UTC+1, to CEST, UTC+2) and on 2026-10-25 at 03:00.
EDGES = [
    ("02:30", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 7)),  # 02:30 is skipped: 03:00 EDT
    ("02:15", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 7)),
    ("02:00", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 7)),
    ("03:00", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 7)),  # the gap's end is a real time
    ("01:59", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 6, 59)),  # just before the gap, EST
    ("01:30", utc(2026, 11, 1, 4), NEW_YORK, utc(2026, 11, 1, 5, 30)),  # the first 01:30, EDT
    ("01:30", utc(2026, 11, 1, 6), NEW_YORK, utc(2026, 11, 1, 6)),  # the repeated hour: still open
    ("02:15", utc(2026, 3, 28, 23), PARIS, utc(2026, 3, 29, 1)),  # 02:15 is skipped: 03:00 CEST
    ("02:59", utc(2026, 3, 28, 23), PARIS, utc(2026, 3, 29, 1)),
    ("02:30", utc(2026, 10, 24, 22), PARIS, utc(2026, 10, 25, 0, 30)),  # the first 02:30, CEST
    ("09:00", utc(2026, 3, 28, 23, 30), PARIS, utc(2026, 3, 29, 7)),  # a day later, an hour earlier in UTC
]


@pytest.mark.parametrize(("start", "due", "zone", "opens"), EDGES)
def test_a_window_opens_at_the_exact_instant_around_daylight_saving_changes(start, due, zone, opens) -> None:
    assert window(start).next_open(due, zone) == opens


def test_a_window_closing_inside_the_repeated_hour_closes_at_its_first_occurrence() -> None:
    short = window("01:30", "01:45")
    assert short.next_open(utc(2026, 11, 1, 5, 44), NEW_YORK) == utc(2026, 11, 1, 5, 44)
    assert short.next_open(utc(2026, 11, 1, 5, 45), NEW_YORK) == utc(2026, 11, 2, 6, 30)  # 01:30 EST


def test_a_window_lying_wholly_inside_the_spring_forward_gap_stays_closed_that_day() -> None:
    opened = window("02:00", "02:30").next_open(utc(2026, 3, 8, 6), NEW_YORK)
    assert opened == utc(2026, 3, 9, 6)  # 02:00 EDT the next day


@pytest.fixture(params=["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Paris"])
def machine_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Runs a test as if the server's own clock were set to a zone far from UTC."""
    monkeypatch.setenv("TZ", request.param)
    clock.tzset()
    yield request.param
    monkeypatch.undo()
    clock.tzset()


@pytest.mark.parametrize(("start", "due", "zone", "opens"), EDGES)
def test_the_answer_is_the_same_utc_instant_whatever_the_machines_time_zone(
    machine_zone, start, due, zone, opens
) -> None:
    opened = window(start).next_open(due, zone)
    assert opened == opens and opened.utcoffset() == timedelta(0)


def test_a_window_still_open_late_in_the_contacts_day_is_found_whatever_the_machines_zone(
    machine_zone,
) -> None:
    # 23:00 on Sunday 4 January in Pago Pago (UTC-11) is already Tuesday 6 January in Kiritimati.
    due = utc(2026, 1, 5, 10)
    assert window("22:00").next_open(due, "Pacific/Pago_Pago") == due
    assert window("22:00", days=("mon",)).next_open(due, "Pacific/Pago_Pago") == utc(2026, 1, 6, 9)


@pytest.mark.parametrize(
    ("days", "due", "opens"),
    [
        (("sun",), utc(2026, 11, 23, 12), utc(2026, 11, 29, 9)),  # Monday noon: six days on
        (("mon",), utc(2026, 11, 23, 17), utc(2026, 11, 30, 9)),  # Monday after hours: a week on
        (("mon",), utc(2026, 11, 23, 16, 59), utc(2026, 11, 23, 16, 59)),  # the window's last minute
        (("sat", "sun"), utc(2026, 11, 27, 23, 59), utc(2026, 11, 28, 9)),  # Friday night
    ],
)
def test_next_open_counts_days_forward_to_the_next_open_day(days, due, opens) -> None:
    assert window("09:00", "17:00", days).next_open(due, "UTC") == opens


def test_a_window_left_open_to_midnight_is_open_until_the_last_instant_of_the_day() -> None:
    late = window("20:00", days=("fri",))
    friday_night = utc(2026, 11, 27, 23, 59, 59)
    assert late.next_open(friday_night, "UTC") == friday_night
    assert late.next_open(utc(2026, 11, 28), "UTC") == utc(2026, 12, 4, 20)


def test_a_window_given_only_an_end_starts_at_midnight_and_one_given_only_a_start_ends_at_midnight() -> None:
    assert SendingWindow.from_dict({"end": "17:00"}) == SendingWindow(
        frozenset(DAYS), time(0, 0), time(17, 0)
    )
    assert SendingWindow.from_dict({"start": "09:30"}) == SendingWindow(frozenset(DAYS), time(9, 30), None)
    assert SendingWindow.from_dict({"days": ["mon"]}) == SendingWindow(frozenset({"mon"}), time(0, 0), None)
    assert SendingWindow.from_dict(None) == SendingWindow.from_dict({}) == SendingWindow()


def test_window_hours_keep_their_minutes() -> None:
    parsed = SendingWindow.from_dict({"start": "08:45", "end": "17:15"})
    assert (parsed.start, parsed.end) == (time(8, 45), time(17, 15))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days": []}, "sending window days must be among mon, tue, wed, thu, fri, sat, sun"),
        ({"days": ["mon", "funday"]}, "sending window days must be among mon, tue, wed, thu, fri, sat, sun"),
        ({"start": "24:00"}, "a sending window cannot start at 24:00"),
        ({"start": "10:00", "end": "09:59"}, "a sending window must end after it starts"),
        ({"start": "10:00", "end": "10:00"}, "a sending window must end after it starts"),
    ],
)
def test_a_malformed_window_is_refused_and_says_why(data, message) -> None:
    with pytest.raises(InvalidCampaign, match=exactly(message)):
        SendingWindow.from_dict(data)


def test_a_window_one_minute_long_is_accepted() -> None:
    assert window("10:00", "10:01").next_open(utc(2026, 1, 1, 10, 0, 30), "UTC") == utc(2026, 1, 1, 10, 0, 30)


def test_a_window_built_without_days_is_never_open() -> None:
    with pytest.raises(InvalidCampaign, match=exactly("the sending window is never open")):
        SendingWindow(days=frozenset()).next_open(utc(2026, 1, 1), "UTC")
