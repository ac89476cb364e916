"""The text and number types request models are built from, so every field keeps CONTRACT.md's Limits.

`SafeText` is the one rule for text: no NUL and no unpaired surrogate (domain/limits.py says why),
checked by pydantic, so a bad character is a 422 naming the field before anything reaches storage.
The other types add a length, a shape or a range to it; their bounds show in the OpenAPI document.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    Strict,
    StrictBool,
    StringConstraints,
)

from domain import limits


def _storable(text: str) -> str:
    problem = limits.text_problem(text)
    if problem:
        raise ValueError(f"the text {problem}")
    return text


def _known_zone(name: str) -> str:
    if not limits.is_time_zone(name):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris")
    return name


SafeText = Annotated[str, AfterValidator(_storable)]


# What SafeText allows, as a JSON Schema pattern, so a generated client or a fuzzer knows it;
# `_storable` checks it, and unpaired surrogates too (a pattern holding a surrogate range is one
# that tools, schemathesis included, cannot use; and UTF-8 JSON can only carry one escaped).
STORABLE = r"[^\u0000]"


class _DocumentedPattern:
    """Puts a pattern in the JSON schema only: pydantic's regex engine has no surrogates to match."""

    def __init__(self, pattern: str) -> None:  # pragma: no mutate block (run at import)
        # test_openapi_text_fields_say_which_characters_they_take fails when it is changed by hand.
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> Any:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


# `bounded`, `whole` and `_DocumentedPattern.__init__` run at import, before mutmut picks a mutant,
# so no mutant of them could ever be tested (no mutate): the limits' own tests
# (tests/api/test_input_limits.py) fail when a bound is changed by hand.
def bounded(min_length: int = 0, max_length: int = limits.MAX_TEXT) -> Any:  # pragma: no mutate block
    """SafeText of a length; the schema shows the length and the pattern."""
    shape = StringConstraints(min_length=min_length, max_length=max_length)
    return Annotated[str, shape, AfterValidator(_storable), _DocumentedPattern(f"^{STORABLE}*$")]


# No space or control character (every regex engine agrees on those), so no NUL either.
AudioUrl = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=limits.MAX_URL, pattern=r"^[hH][tT][tT][pP][sS]?://[^\x00-\x20]+$"
    ),
    AfterValidator(_storable),
    Field(description="an http(s) URL of the recording"),
]


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic would read true as 1; the schema says integer
        raise ValueError("expected an integer, not a boolean")
    return value


def whole(low: int, high: int, description: str | None = None) -> Any:  # pragma: no mutate block
    """An integer in [low, high] that is not a boolean (bounds first, so the schema shows them)."""
    return Annotated[int, Field(ge=low, le=high, description=description), BeforeValidator(_not_a_bool)]


if TYPE_CHECKING:
    # `bounded` and `whole` build their Annotated types at run time, which a type checker cannot
    # read; to it these are the plain str and int that pydantic hands the code after its checks.
    Name = str
    Subject = str
    Body = str
    ShortText = str
    FreeText = str
    Address = str
    SmsHelp = str
    TimeZone = str
    FieldKey = str
    DailyLimit = int
    DailyIncrement = int
    Group = int
    WaitDays = int
else:
    Name = bounded(1, limits.MAX_NAME)
    Subject = bounded(1, limits.MAX_SUBJECT)
    Body = bounded(1, limits.MAX_BODY)
    ShortText = bounded(0, limits.MAX_NAME)
    FreeText = bounded(0, limits.MAX_TEXT)
    Address = bounded(1, 320)
    SmsHelp = bounded(1, limits.MAX_SMS_BODY)
    TimeZone = Annotated[
        bounded(1, 64),
        AfterValidator(_known_zone),
        Field(json_schema_extra={"enum": sorted(limits.time_zones())}),
    ]
    DailyLimit = whole(1, limits.MAX_DAILY_LIMIT)
    DailyIncrement = whole(0, limits.MAX_DAILY_LIMIT)
    Group = whole(0, limits.MAX_GROUP, "day offset from launch")
    WaitDays = whole(0, limits.MAX_WAIT_DAYS)
    FieldKey = bounded(1, 100)


# An ISO-8601 date and time with its zone: pydantic alone would also read "1700000000" as a
# Unix time, and a time without a zone could mean any of 26 instants.
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: Any) -> Any:
    if isinstance(value, str) and not ISO_8601.match(value):
        raise ValueError("expected an ISO-8601 date and time with its zone, e.g. 2026-11-28T09:00:00Z")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]

# A cursor is opaque base64url of at most 2,000 characters (the longest a list hands out: a 254-
# character address of 4-byte characters is 1,416); other text is a 422 naming the field, and base64
# that decodes to anything but a position handed out is a 400 (storage/paging.py).
CursorText = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(_storable),
    _DocumentedPattern(r"^[A-Za-z0-9_=-]*$"),
]

# A contact's custom fields: flat (no nesting), a bounded number of short keys and bounded values.
# Strict: pydantic would otherwise read a long string of digits as a number, past the text's bound.
FieldValue = (
    FreeText
    | Annotated[int, Strict(), Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Strict(), Field(allow_inf_nan=False)]
    | StrictBool
    | None
)


def _flat_map_schema(schema: dict[str, Any]) -> None:
    """Keys are checked like any text: say so with propertyNames, not patternProperties."""
    pattern, values = next(iter(schema.pop("patternProperties").items()))
    schema["additionalProperties"] = values
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}


ContactFields = Annotated[
    dict[FieldKey, FieldValue], Field(max_length=100, json_schema_extra=_flat_map_schema)
]
Credentials = Annotated[dict[ShortText, FreeText], Field(max_length=20, json_schema_extra=_flat_map_schema)]
