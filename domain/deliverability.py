"""The deliverability guard's policy, pure: a brand's limits, and whether a window of recent sends
breaks them.

A window is the last `window_sends` sends of one campaign on one channel (or of one mailbox), each
with whether it bounced hard or its contact opted out (unsubscribe or STOP). With at least
`min_sends` sends in it, a hard-bounce rate (email, and a mailbox) or an opt-out rate above the
brand's maximum is a `Breach`: it carries the figures the pause records (decision record 0024).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import InvalidInput

MAX_WINDOW_SENDS = 10_000  # the most sends a window looks back over


class InvalidDeliverabilitySettings(InvalidInput):
    """Limits out of range: rates 0 to 1, 1 <= min_sends <= window_sends <= MAX_WINDOW_SENDS."""


class Measure(StrEnum):
    BOUNCE_RATE = "bounce_rate"  # hard bounces per send
    OPT_OUT_RATE = "opt_out_rate"  # unsubscribes and STOPs per send


@dataclass(frozen=True)
class DeliverabilitySettings:
    max_bounce_rate: float = 0.05
    max_opt_out_rate: float = 0.02
    min_sends: int = 50
    window_sends: int = 500

    def __post_init__(self) -> None:
        errors = [
            {"field": name, "error": "must be between 0 and 1"}
            for name in ("max_bounce_rate", "max_opt_out_rate")
            if not 0 <= getattr(self, name) <= 1
        ]
        if self.min_sends < 1:
            errors.append({"field": "min_sends", "error": "must be at least 1"})
        if not self.min_sends <= self.window_sends <= MAX_WINDOW_SENDS:
            error = f"must be at least min_sends and at most {MAX_WINDOW_SENDS}"
            errors.append({"field": "window_sends", "error": error})
        if errors:
            raise InvalidDeliverabilitySettings("deliverability settings out of range", errors)

    def maximum(self, measure: Measure) -> float:
        return self.max_bounce_rate if measure is Measure.BOUNCE_RATE else self.max_opt_out_rate


@dataclass(frozen=True)
class Window:
    """The sends a window holds and how many of them bounced hard or opted out."""

    sends: int
    hard_bounces: int
    opt_outs: int

    def count(self, measure: Measure) -> int:
        return self.hard_bounces if measure is Measure.BOUNCE_RATE else self.opt_outs


@dataclass(frozen=True)
class Breach:
    """A window over a limit: what the pause records and shows."""

    measure: Measure
    channel: str
    window_sends: int  # the window's size as the brand set it
    sends: int  # the sends it held
    count: int  # of which bounced hard (or opted out)
    rate: float
    threshold: float

    @property
    def reason(self) -> str:
        what = "hard-bounce" if self.measure is Measure.BOUNCE_RATE else "opt-out"
        return (
            f"{what} rate {self.rate:.1%} over the last {self.sends} {self.channel} sends "
            f"({self.count} of {self.sends}) is above the maximum {self.threshold:.1%}"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "measure": self.measure.value,
            "channel": self.channel,
            "window_sends": self.window_sends,
            "sends": self.sends,
            "count": self.count,
            "rate": self.rate,
            "threshold": self.threshold,
        }


def breach(
    window: Window, settings: DeliverabilitySettings, channel: str, measures: tuple[Measure, ...]
) -> Breach | None:
    """The first of `measures` the window breaks, or None (also under `min_sends` sends)."""
    if window.sends < settings.min_sends:
        return None
    for measure in measures:
        count, threshold = window.count(measure), settings.maximum(measure)
        rate = count / window.sends
        if rate > threshold:
            return Breach(measure, channel, settings.window_sends, window.sends, count, rate, threshold)
    return None


def waits(window: Window, settings: DeliverabilitySettings, measures: tuple[Measure, ...]) -> bool:
    """Whether the window holds outcomes of `measures` but too few sends to be judged: later sends
    alone, with no further outcome, can take it over a limit."""
    return window.sends < settings.min_sends and any(window.count(measure) for measure in measures)


def measures_of(channel: str) -> tuple[Measure, ...]:
    """What a campaign's window on a channel is held to: hard bounces for email, opt-outs for all."""
    if channel == "email":
        return (Measure.BOUNCE_RATE, Measure.OPT_OUT_RATE)
    return (Measure.OPT_OUT_RATE,)
