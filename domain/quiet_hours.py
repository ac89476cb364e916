"""Quiet hours: texts and calls reach a contact only in the daytime of the contact's time zone.

By default between 08:00 and 21:00 local time (a brand may choose other hours, "00:00" to "24:00"
for any hour). A due text or voicemail outside them waits until they open again, the next 08:00
local, kept across daylight saving changes by the sending window's arithmetic
(domain/sending_window.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidCampaign, InvalidInput
from domain.sending_window import SendingWindow
from domain.steps import Channel

# The channels quiet hours hold back; email is not one.
CHANNELS: frozenset[Channel] = frozenset({"sms", "voicemail"})
DEFAULT_FROM, DEFAULT_UNTIL = "08:00", "21:00"
HOUR = re.compile(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


class InvalidQuietHours(InvalidInput):
    """Calling hours that cannot be kept: "HH:MM" times, starting before they end, in one day."""


@dataclass(frozen=True)
class QuietHours:
    allowed_from: str = DEFAULT_FROM  # "HH:MM", local time: when texts and calls may start
    allowed_until: str = DEFAULT_UNTIL  # "HH:MM" (or "24:00"): when they stop

    def __post_init__(self) -> None:
        for name in ("allowed_from", "allowed_until"):
            if not HOUR.match(getattr(self, name)):
                raise InvalidQuietHours(
                    f"{name} must be a time HH:MM", [{"field": name, "error": "not a time HH:MM"}]
                )
        try:
            SendingWindow.from_dict({"start": self.allowed_from, "end": self.allowed_until})
        except InvalidCampaign as bad:
            detail = f"texts and calls must be allowed from a time before {self.allowed_until}"
            raise InvalidQuietHours(detail, [{"field": "allowed_from", "error": detail}]) from bad

    @property
    def _window(self) -> SendingWindow:
        return SendingWindow.from_dict({"start": self.allowed_from, "end": self.allowed_until})

    def next_allowed(self, moment: datetime, timezone: str) -> datetime:
        """`moment` itself when texts and calls are allowed then, else when they next are."""
        return self._window.next_open(moment, timezone)

    def allows(self, moment: datetime, timezone: str) -> bool:
        return self.next_allowed(moment, timezone) == moment
