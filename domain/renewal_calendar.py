"""When a brand's plan renews: monthly, on the day of the month the brand was created, at 00:00 UTC.

A renewal day past a month's end (the 31st in April, the 29th to 31st in February) falls on that
month's last day; the month after goes back to the brand's own day. Each renewal opens a period
named by its month (`YYYY-MM`), and a plan's credits are granted once per period. Pure arithmetic:
the moments come in as arguments.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta


def renewal_in(year: int, month: int, day: int) -> datetime:
    """The renewal moment in that month of a brand whose renewal day is `day`."""
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, min(day, last), tzinfo=UTC)


def period_of(moment: datetime) -> str:
    """The period a renewal at `moment` opens: its month, `YYYY-MM`."""
    return f"{moment.astimezone(UTC):%Y-%m}"


def _months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def renewals_after(created_at: datetime, after: datetime) -> Iterator[datetime]:
    """Every renewal moment strictly after `after` (and after the creation), in order, for ever."""
    created = created_at.astimezone(UTC)
    start = max(created, after.astimezone(UTC))
    for year, month in _months_from(start.year, start.month):
        moment = renewal_in(year, month, created.day)
        if moment > start:
            yield moment


def next_renewal(created_at: datetime, after: datetime) -> datetime:
    """The first renewal strictly after `after`: what `GET /v1/credits` shows as `renews_at`."""
    return next(renewals_after(created_at, after))


def renewals_due(created_at: datetime, since: datetime, now: datetime) -> list[datetime]:
    """The renewals from `since` (included) up to `now` (included), oldest first: what a cron that
    last planned `since` as the next renewal owes, however long it was away."""
    due = []
    for moment in renewals_after(created_at, since - timedelta(microseconds=1)):
        if moment > now:
            break
        due.append(moment)
    return due
