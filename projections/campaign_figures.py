"""A campaign's figures (its metrics and credits) as of a moment, added up from checkpoints.

A counted event (an enrollment's, or a settlement on the brand's ledger) moves some figures
(`figures_moved`). A checkpoint (`Checkpoint`) holds what some counted events of one campaign
move, the earliest and the latest of their own times, and each one's time and figures. Times are
not monotonic in log position (several writers; an event stamped before another may commit after
it), so a checkpoint is not "the figures as of a time": as of `moment`, a checkpoint whose latest
time is at or before it counts whole, one whose earliest time is after it counts nothing, and one
in between counts the events it lists at or before it. With every counted event of the campaign up
to a log position in exactly one checkpoint, and the events after that position read from the log
(`tail`), the sum is exactly the full fold's, whatever the order of the times (`figures_as_of`);
see docs/decisions/0029-time-travel-from-checkpoints.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.campaign_summaries import COUNTED_ENROLLMENT_EVENTS, SETTLEMENT_EVENTS, count_execution

METRICS = (
    "enrolled",
    "finished",
    "failed",
    "cancelled",
    "delivered",
    "bounced",
    "replied",
    "opened",
    "clicked",
    "unsubscribed",
    "sent_email",
    "sent_sms",
    "sent_voicemail",
)
CREDITS = {
    CreditLedger.CreditsReserved: "credits_reserved",
    CreditLedger.CreditsConsumed: "credits_consumed",
    CreditLedger.CreditsReleased: "credits_released",
}
FIGURES = (*METRICS, *CREDITS.values())
COUNTED = frozenset(COUNTED_ENROLLMENT_EVENTS)
COUNTED_EVENTS = (*COUNTED_ENROLLMENT_EVENTS, *SETTLEMENT_EVENTS)  # every event that moves a figure
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHECKPOINT_SIZE = 500  # counted events of a campaign a checkpoint holds at most


def figures_moved(event: Any) -> Counter[str]:
    """The figures one counted event moves (nothing for another event)."""
    moved = Counter[str]()
    if type(event) in CREDITS:
        moved[CREDITS[type(event)]] += event.amount
    elif isinstance(event, Enrollment.ContactEnrolled):
        moved["enrolled"] += 1
    elif isinstance(event, Enrollment.EnrollmentFinished):
        moved["finished"] += 1
    elif type(event) in COUNTED:
        count_execution(event, moved)
    return +moved  # a StepSent that finished nothing moves no `finished`


def microseconds(moment: datetime) -> int:
    """A time as whole microseconds since the epoch (exact, unlike a float)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


@dataclass
class Checkpoint:
    """What one campaign's counted events in a range of log positions move, and when each did."""

    first_position: int
    last_position: int
    earliest: datetime
    latest: datetime
    figures: Counter[str] = field(default_factory=Counter)
    moments: list[tuple[int, str, int]] = field(default_factory=list)  # (microseconds, figure, amount)

    def add(self, position: int, at: datetime, moved: Mapping[str, int]) -> None:
        self.first_position, self.last_position = (
            min(self.first_position, position),
            max(self.last_position, position),
        )
        self.earliest, self.latest = min(self.earliest, at), max(self.latest, at)
        self.figures.update(moved)
        self.moments.extend((microseconds(at), name, amount) for name, amount in moved.items())

    def absorb(self, other: Checkpoint) -> None:
        """Hold the events of `other` too (a checkpoint is a set of events: any two make one)."""
        self.first_position = min(self.first_position, other.first_position)
        self.last_position = max(self.last_position, other.last_position)
        self.earliest, self.latest = min(self.earliest, other.earliest), max(self.latest, other.latest)
        self.figures.update(other.figures)
        self.moments.extend(other.moments)

    def can_absorb(self, other: Checkpoint, size: int = CHECKPOINT_SIZE) -> bool:
        """Whether the two together stay within a checkpoint's size (counted in figures moved)."""
        return len(self.moments) + len(other.moments) <= size


def checkpoints_of(
    events: Iterable[tuple[int, Any, datetime, Mapping[str, int]]], size: int = CHECKPOINT_SIZE
) -> list[tuple[Any, Checkpoint]]:
    """The checkpoints of (log position, campaign, time, figures moved) in a batch: per campaign,
    its events in order of time, `size` at a time, so that a moment falls between the earliest
    and latest times of few checkpoints, each of few events. (A checkpoint is any set of the
    campaign's events up to the read model's position, each event in one: they need not be
    consecutive in the log.)"""
    by_campaign: dict[Any, list[tuple[datetime, int, Mapping[str, int]]]] = {}
    for position, campaign, at, moved in events:
        if moved:
            by_campaign.setdefault(campaign, []).append((at, position, moved))
    made = []
    for campaign, counted in by_campaign.items():
        counted.sort(key=lambda item: (item[0], item[1]))
        for start in range(0, len(counted), size):
            chunk = counted[start : start + size]
            checkpoint = Checkpoint(chunk[0][1], chunk[0][1], chunk[0][0], chunk[0][0])
            for at, position, moved in chunk:
                checkpoint.add(position, at, moved)
            made.append((campaign, checkpoint))
    return made


def figures_as_of(
    whole: Mapping[str, int],
    split: Mapping[str, int],
    tail: Iterable[tuple[datetime, Mapping[str, int]]],
    moment: datetime,
) -> dict[str, int]:
    """The figures as of `moment`: the sums of the checkpoints whose latest time is at or before it
    (`whole`), of the listed events at or before it of those it falls between (`split`), and the
    events after the checkpoints' log position at or before it (`tail`)."""
    figures = Counter(dict.fromkeys(FIGURES, 0))
    figures.update(whole)
    figures.update(split)
    for at, moved in tail:
        if at <= moment:
            figures.update(moved)
    return dict(figures)
