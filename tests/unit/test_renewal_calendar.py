"""The renewal calendar: a plan renews on the day of the month the brand was created, at 00:00
UTC; a day past a month's end falls on that month's last day (February of a leap year included),
and the month after goes back to the brand's own day. Each renewal names its period `YYYY-MM`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import islice

from hypothesis import given
from hypothesis import strategies as st

from domain.renewal_calendar import next_renewal, period_of, renewals_after, renewals_due


def day(year: int, month: int, d: int) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


def test_a_brand_made_on_the_31st_renews_on_each_months_last_day_when_shorter() -> None:
    created = datetime(2027, 12, 31, 15, 30, tzinfo=UTC)
    assert list(islice(renewals_after(created, created), 5)) == [
        day(2028, 1, 31),
        day(2028, 2, 29),  # 2028 is a leap year
        day(2028, 3, 31),
        day(2028, 4, 30),
        day(2028, 5, 31),
    ]


def test_february_of_a_common_year_takes_the_28th_and_march_goes_back_to_the_brands_day() -> None:
    created = datetime(2026, 1, 30, 9, tzinfo=UTC)
    assert list(islice(renewals_after(created, created), 3)) == [
        day(2026, 2, 28),
        day(2026, 3, 30),
        day(2026, 4, 30),
    ]


def test_a_brand_made_on_the_29th_of_february_renews_on_the_28th_in_common_years() -> None:
    created = datetime(2028, 2, 29, tzinfo=UTC)
    renewals = list(islice(renewals_after(created, created), 13))
    assert renewals[0] == day(2028, 3, 29)
    assert renewals[11] == day(2029, 2, 28)
    assert renewals[12] == day(2029, 3, 29)


def test_the_next_renewal_is_strictly_after_the_moment_asked_and_never_the_creation() -> None:
    created = datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert next_renewal(created, created) == day(2027, 1, 7)
    assert next_renewal(created, day(2027, 1, 7)) == day(2027, 2, 7)  # at the moment itself: the next one
    assert next_renewal(created, day(2027, 1, 7) - timedelta(microseconds=1)) == day(2027, 1, 7)
    midnight_brand = day(2026, 12, 7)
    assert next_renewal(midnight_brand, midnight_brand) == day(2027, 1, 7)


def test_renewals_due_lists_every_missed_period_once_in_order() -> None:
    created = datetime(2026, 10, 31, 12, tzinfo=UTC)
    due = renewals_due(created, day(2026, 11, 30), day(2027, 1, 31))
    assert due == [day(2026, 11, 30), day(2026, 12, 31), day(2027, 1, 31)]
    assert [period_of(m) for m in due] == ["2026-11", "2026-12", "2027-01"]
    assert renewals_due(created, day(2026, 11, 30), day(2026, 11, 29)) == []


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.integers(1, 40),
)
def test_one_renewal_per_month_at_midnight_on_the_brands_day_or_the_months_last(
    created: datetime, n: int
) -> None:
    renewals = list(islice(renewals_after(created, created), n))
    periods = [period_of(m) for m in renewals]
    assert len(set(periods)) == n  # one per month
    assert all(m.hour == m.minute == m.second == m.microsecond == 0 for m in renewals)
    assert all(m > created for m in renewals) and renewals == sorted(renewals)
    for m in renewals:
        last_day = ((m.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
        assert m.day == min(created.day, last_day)


def test_renewals_owed_start_at_since_and_not_at_a_renewal_a_microsecond_before_it() -> None:
    created = day(2026, 10, 7)
    since = day(2026, 11, 7) + timedelta(microseconds=1)
    assert renewals_due(created, since, day(2027, 1, 7)) == [day(2026, 12, 7), day(2027, 1, 7)]


def test_renewal_days_and_periods_are_utcs_whatever_the_machines_time_zone(monkeypatch) -> None:
    for zone in ("America/Los_Angeles", "Pacific/Auckland"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        try:
            created = datetime(2026, 12, 7, 5, tzinfo=UTC)  # the 6th in Los Angeles, the 7th in Auckland
            assert next_renewal(created, created) == day(2027, 1, 7)
            late = datetime(2026, 12, 31, 12, tzinfo=UTC)  # already 2027 in Auckland
            assert [period_of(day(2026, 12, 1)), period_of(late)] == ["2026-12", "2026-12"]
        finally:
            monkeypatch.undo()
            time.tzset()
