"""The times `events export --since/--until` take (projections/history/export_rows.py's
`parse_time`): RFC 3339 and ISO 8601, `Z` or `z` for UTC, a time that names no zone read as UTC,
an offset kept as the instant it names, and anything else refused saying what is expected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from projections.history.export_rows import parse_time

EIGHT_UTC = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-29T08:00:00Z", "2026-11-29T08:00:00z", "2026-11-29 08:00z"])
def test_a_time_in_utc_may_end_in_z_of_either_case(text):
    moment = parse_time(text)
    assert moment == EIGHT_UTC and moment.utcoffset() == timedelta(0)


def test_a_time_that_names_no_zone_is_read_as_utc():
    moment = parse_time("2026-11-29T08:00:00")
    assert moment.tzinfo is not None and moment == EIGHT_UTC


def test_a_day_that_names_no_zone_or_utc_starts_at_midnight_utc():
    assert parse_time("2026-11-29") == parse_time("2026-11-29Z") == datetime(2026, 11, 29, tzinfo=UTC)


def test_a_time_with_an_offset_is_the_instant_it_names():
    assert parse_time("2026-11-29T10:00:00+02:00") == EIGHT_UTC
    assert parse_time("2026-11-29T03:00:00-05:00") == EIGHT_UTC


@pytest.mark.parametrize("text", ["yesterday", "2026-11-31", "29/11/2026", ""])
def test_what_is_not_a_time_is_refused_saying_what_is_expected(text):
    with pytest.raises(ValueError) as refused:
        parse_time(text)
    assert str(refused.value) == (f"bad time {text!r}: use ISO 8601, e.g. 2026-11-29 or 2026-11-29T08:00:00Z")


@pytest.mark.parametrize(
    ("text", "midnight_utc"),
    [
        ("2026-11-29+05:00", datetime(2026, 11, 28, 19, 0, tzinfo=UTC)),
        ("2026-11-29-05:00", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),
        ("2026-11-29+0530", datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),
    ],
)
def test_a_day_with_an_offset_starts_at_its_midnight_in_that_zone(text, midnight_utc):
    """Not at the offset read as a time of day (`2026-11-29+05:00` was 05:00 UTC)."""
    assert parse_time(text) == midnight_utc
