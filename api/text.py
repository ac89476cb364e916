"""The text and number types request models are built from, so every field keeps CONTRACT.md's Limits.

`SafeText` is the one rule for text: no NUL and no unpaired surrogate (domain/limits.py says why),
checked by pydantic, so a bad character is a 422 naming the field before anything reaches storage.
The other types add a length, a shape or a range to it; their bounds show in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

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


def bounded(min_length: int = 0, max_length: int = limits.MAX_TEXT, **constraints: Any) -> Any:
    """SafeText with a length (and a pattern, if given): constraints first, so the schema shows them."""
    shape = StringConstraints(min_length=min_length, max_length=max_length, **constraints)
    return Annotated[str, shape, AfterValidator(_storable)]


Name = bounded(1, limits.MAX_NAME)
Subject = bounded(1, limits.MAX_SUBJECT)
Body = bounded(1, limits.MAX_BODY)
ShortText = bounded(0, limits.MAX_NAME)
FreeText = bounded(0, limits.MAX_TEXT)
Address = bounded(1, 320)
AudioUrl = Annotated[
    bounded(1, limits.MAX_URL, pattern=r"^[hH][tT][tT][pP][sS]?://[^\s]+$"),
    Field(description="an http(s) URL of the recording"),
]
TimeZone = Annotated[
    bounded(1, 64),
    AfterValidator(_known_zone),
    Field(json_schema_extra={"enum": sorted(limits.time_zones())}),
]

DailyLimit = Annotated[int, Field(ge=1, le=limits.MAX_DAILY_LIMIT)]
DailyIncrement = Annotated[int, Field(ge=0, le=limits.MAX_DAILY_LIMIT)]
Group = Annotated[int, Field(ge=0, le=limits.MAX_GROUP, description="day offset from launch")]
WaitDays = Annotated[int, Field(ge=0, le=limits.MAX_WAIT_DAYS)]

# A contact's custom fields: flat (no nesting), a bounded number of short keys and bounded values.
FieldKey = bounded(1, 100)
FieldValue = (
    FreeText
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
    | None
)
ContactFields = Annotated[dict[FieldKey, FieldValue], Field(max_length=100)]
