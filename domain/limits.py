"""The bounds every stored text and campaign definition keeps, so no column or later arithmetic overflows.

CONTRACT.md's Limits, in one place: the API's request models declare them (api/text.py), the CSV
reader checks each cell against `text_problem`, and the Campaign aggregate re-checks its own
definition, so a command that skipped the boundary still cannot store a 5,001-step campaign or a
name PostgreSQL refuses (text columns take no NUL; UTF-8 takes no unpaired surrogate).
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

MAX_STEPS = 100
MAX_LEAD_GROUPS = 50
MAX_GROUP = 365  # a group is a day offset: group 365 is a year after launch
MAX_WAIT_DAYS = 365
MAX_NAME = 200
MAX_SUBJECT = 998  # RFC 5322's line limit
MAX_BODY = 100 * 1024  # characters: JSON Schema's maxLength counts characters
MAX_SMS_BODY = 1600  # ten concatenated SMS segments
MAX_URL = 2048
MAX_DAILY_LIMIT = 100_000  # sends a day per account; 32-bit columns and warm-up arithmetic stay small
MAX_TEXT = 10_000  # any other free text: a contact field, a reason

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why storage cannot hold the text (a NUL, an unpaired surrogate), or None when it can."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains a NUL character at position {found.start()}"
    return f"contains an unpaired surrogate at position {found.start()}"


@cache
def time_zones() -> frozenset[str]:
    """The IANA zone names this system's tz database holds (read once: listing them walks a folder)."""
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    return name in time_zones()
