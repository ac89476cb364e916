"""Sending windows: the days and hours a campaign may send, in the contact's (or campaign's) time zone.

A window moves a due time forward to the first moment it is open, never back. Hours are local
wall-clock times, so a window keeps its local hours across daylight-saving changes; a start time
that does not exist on a spring-forward day begins at the first valid moment after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from domain.errors import InvalidCampaign

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = get_args(Day)  # every day, Monday first (the index is `date.weekday()`)


@dataclass(frozen=True)
class SendingWindow:
    days: frozenset[str] = frozenset(DAYS)
    start: time = time(0, 0)
    end: time | None = None  # None: until midnight ("24:00")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SendingWindow:
        if not data:
            return cls()
        days = frozenset(data.get("days", DAYS))
        if not days or not days <= set(DAYS):
            raise InvalidCampaign(f"sending window days must be among {', '.join(DAYS)}")
        start, end = _parse(data.get("start", "00:00")), _parse(data.get("end", "24:00"))
        if start is None:
            raise InvalidCampaign("a sending window cannot start at 24:00")
        if end is not None and end <= start:
            raise InvalidCampaign("a sending window must end after it starts")
        return cls(days, start, end)

    @property
    def always_open(self) -> bool:
        return len(self.days) == 7 and self.start == time(0, 0) and self.end is None

    def _open_interval(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        opens = _local(day, self.start, zone)
        closes = (
            _local(day + timedelta(days=1), time(0, 0), zone)
            if self.end is None
            else _local(day, self.end, zone)
        )
        return opens, closes

    def next_open(self, due: datetime, timezone: str) -> datetime:
        """The first moment at or after `due` when the window is open."""
        if self.always_open:
            return due
        zone = ZoneInfo(timezone)
        day = due.astimezone(zone).date() - timedelta(days=1)  # the previous day's window may still be open
        for _ in range(16):
            if DAYS[day.weekday()] in self.days:
                opens, closes = self._open_interval(day, zone)
                if due < closes and opens < closes:
                    return max(due, opens)
            day += timedelta(days=1)
        raise InvalidCampaign("the sending window is never open")  # unreachable for a valid window


def _parse(text: str) -> time | None:
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; a time skipped by DST maps to just after the gap."""
    naive = datetime.combine(day, at)
    moment = naive.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment
    # Inside a spring-forward gap: start from the instant before it and walk to the first valid one.
    moment = naive.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    while moment.astimezone(zone).replace(tzinfo=None) < naive:
        moment += timedelta(minutes=1)
    return moment
