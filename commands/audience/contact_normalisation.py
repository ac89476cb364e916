"""How a brand's contact addresses are compared: emails, E.164 phones and IANA time zones.

The same email or phone within a brand is the same contact, and a suppressed address must match the
contact's, so every address is normalised here, once, the same way for imports and suppressions.
Each function returns the canonical form (None for a blank value) or raises ValueError saying why.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

import phonenumbers

EMAIL = re.compile(r"^[^@\s]{1,64}@(?:[^@\s.]+\.)+[^@\s.]{2,}$")
MAX_EMAIL_LENGTH = 254


def normalise_email(raw: str | None) -> str | None:
    """Surrounding space dropped, the whole address lowercased (mailboxes are case-blind in practice)."""
    if raw is None or not raw.strip():
        return None
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL.match(email):
        raise ValueError(f"invalid email {raw!r}: expected an address such as ann@example.com")
    return email


def normalise_phone(raw: str | None, region: str = "US") -> str | None:
    """E.164; a number without a country code is read as one of `region` (ISO 3166 code)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("00"):  # the international prefix of most countries, whatever the region
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as unreadable:
        raise ValueError(f"invalid phone {raw!r}: {_parse_error(unreadable, text, region)}") from None
    if number.extension:
        raise ValueError(f"invalid phone {raw!r}: extensions cannot be dialled by SMS or voicemail")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"invalid phone {raw!r}: not a valid number"
            + ("" if text.startswith("+") else f" in region {region.upper()} (add a +country code)")
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > 16:  # phonenumbers accepts some longer national numbers; E.164 stops at 15 digits
        raise ValueError(f"invalid phone {raw!r}: longer than the 15 digits E.164 allows")
    return e164


def _parse_error(error: phonenumbers.NumberParseException, text: str, region: str) -> str:
    if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return "unknown country code"
        return f"no +country code, and the default region {region!r} is not a known region"
    if error.error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return "not a phone number"
    return "too short or too long"


def normalise_timezone(raw: str | None) -> str | None:
    """An IANA zone name such as Europe/London, spelled as the tz database does (any case accepted)."""
    if raw is None or not raw.strip():
        return None
    name = _zone_names().get(raw.strip().lower())
    if name is None:
        raise ValueError(f"unknown time zone {raw!r}: expected an IANA name such as America/New_York")
    return name


def normalise_address(raw: str, region: str = "US") -> tuple[str, str]:
    """A suppressible address and its channel: ("email" if it holds an @, else "phone")."""
    address = normalise_email(raw) if "@" in raw else normalise_phone(raw, region)
    if address is None:
        raise ValueError("an address (email or phone) is required")
    return address, "email" if "@" in address else "phone"


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}
