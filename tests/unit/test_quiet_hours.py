"""Quiet hours: a text or voicemail due outside 08:00-21:00 in the contact's zone waits until the
next 08:00 there, across daylight-saving changes too; a brand's own hours are kept the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.quiet_hours import InvalidQuietHours, QuietHours

NY, SYDNEY = "America/New_York", "Australia/Sydney"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_a_text_due_at_22_local_waits_until_8_the_next_morning() -> None:
    due = local(NY, 2026, 6, 10, 22, 0)
    assert QuietHours().next_allowed(due, NY) == local(NY, 2026, 6, 11, 8, 0)
    assert not QuietHours().allows(due, NY)


def test_a_text_due_in_the_daytime_goes_at_once() -> None:
    due = local(NY, 2026, 6, 10, 13, 30)
    assert QuietHours().allows(due, NY) and QuietHours().next_allowed(due, NY) == due


@pytest.mark.parametrize(
    ("due", "allowed"),
    [
        (local(NY, 2026, 6, 10, 7, 59), local(NY, 2026, 6, 10, 8, 0)),  # just before the morning
        (local(NY, 2026, 6, 10, 8, 0), local(NY, 2026, 6, 10, 8, 0)),  # the first allowed minute
        (local(NY, 2026, 6, 10, 21, 0), local(NY, 2026, 6, 11, 8, 0)),  # 21:00 is already quiet
        (local(NY, 2026, 6, 10, 0, 30), local(NY, 2026, 6, 10, 8, 0)),  # after midnight: the same day
    ],
)
def test_the_edges_of_the_day(due: datetime, allowed: datetime) -> None:
    assert QuietHours().next_allowed(due, NY) == allowed


def test_across_the_spring_forward_night_the_next_8_is_local_summer_time() -> None:
    # 2026-03-08: New York moves from UTC-5 to UTC-4 at 02:00.
    due = local(NY, 2026, 3, 7, 23, 0)
    allowed = QuietHours().next_allowed(due, NY)
    assert allowed == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert allowed.astimezone(ZoneInfo(NY)).hour == 8


def test_across_the_fall_back_night_the_next_8_is_local_winter_time() -> None:
    # 2026-11-01: New York moves from UTC-4 back to UTC-5 at 02:00.
    due = local(NY, 2026, 10, 31, 22, 30)
    allowed = QuietHours().next_allowed(due, NY)
    assert allowed == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert (allowed - due).total_seconds() == (9.5 + 1) * 3600  # 9.5 hours on the wall, one repeated


def test_the_contact_zone_decides_not_utc() -> None:
    due = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 22:00 in Sydney, 08:00 in New York
    assert QuietHours().allows(due, NY)
    assert QuietHours().next_allowed(due, SYDNEY) == local(SYDNEY, 2026, 6, 11, 8, 0)


def test_a_brand_chooses_its_own_hours() -> None:
    hours = QuietHours("10:00", "18:00")
    assert hours.next_allowed(local(NY, 2026, 6, 10, 18, 5), NY) == local(NY, 2026, 6, 11, 10, 0)


def test_a_brand_may_allow_every_hour() -> None:
    assert QuietHours("00:00", "24:00").allows(local(NY, 2026, 6, 10, 23, 59), NY)


@pytest.mark.parametrize(
    ("allowed_from", "allowed_until"), [("21:00", "08:00"), ("8:00", "21:00"), ("24:00", "24:00")]
)
def test_hours_that_cannot_be_kept_are_refused(allowed_from: str, allowed_until: str) -> None:
    with pytest.raises(InvalidQuietHours):
        QuietHours(allowed_from, allowed_until)


@pytest.mark.parametrize("field", ["allowed_from", "allowed_until"])
def test_a_time_that_is_not_hh_mm_is_refused_naming_its_field(field: str) -> None:
    with pytest.raises(InvalidQuietHours) as refused:
        QuietHours(**{field: "9am"})
    assert str(refused.value) == f"{field} must be a time HH:MM"
    assert refused.value.errors == [{"field": field, "error": "not a time HH:MM"}]


def test_hours_that_end_before_they_start_are_refused_on_the_start() -> None:
    with pytest.raises(InvalidQuietHours) as refused:
        QuietHours("21:00", "08:00")
    detail = "texts and calls must be allowed from a time before 08:00"
    assert str(refused.value) == detail
    assert refused.value.errors == [{"field": "allowed_from", "error": detail}]
