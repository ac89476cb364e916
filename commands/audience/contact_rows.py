"""The rows of a contact upload, JSON or CSV, read into normalised contacts one at a time.

A JSON row already has the contract's shape; a CSV row is a record under a header naming the same
columns, where any other column becomes a custom field. A row that cannot be a contact raises
ValueError with the reason, which the import reports against the row's number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from commands.audience.contact_normalisation import (
    normalise_email,
    normalise_phone,
    normalise_timezone,
)
from domain.errors import InvalidInput
from domain.limits import MAX_NAME, MAX_TEXT, text_problem

PROFILE = ("first_name", "last_name", "company", "timezone")
COLUMNS = ("email", "phone", *PROFILE)
MAX_FIELDS, MAX_FIELD_NAME = 100, 100  # custom fields per contact, and a field name's length
MAX_COLUMNS = 1_000  # columns a CSV header may name
# Characters of one CSV record (its line, or lines when a quoted cell holds line breaks): above a
# full row (100 fields of 10,000 characters), and it bounds the cells the reader makes of a record.
MAX_RECORD = 2_000_000


class MalformedCsv(InvalidInput):
    """The upload is not a CSV file of contacts at all (no header, no address column)."""


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    timezone: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def profile(self) -> dict[str, str | None]:
        return {key: getattr(self, key) for key in PROFILE}


def parse_contact(row: Mapping[str | None, Any], region: str) -> Contact:
    """A contact from one uploaded row; custom fields are its `fields` plus any unknown column."""
    if row.get(None):
        raise ValueError(f"the row has {len(row[None])} more cells than the header has columns")
    _check_cells(row)
    email = normalise_email(_text(row.get("email")))
    phone = normalise_phone(_text(row.get("phone")), region)
    if not (email or phone):
        raise ValueError("a contact needs an email or a phone")
    given = row.get("fields")
    fields = dict(given) if isinstance(given, Mapping) else {}
    for key, value in row.items():
        if (
            key is not None
            and key not in COLUMNS
            and not isinstance(value, Mapping)
            and value not in (None, "")
        ):
            fields[key] = value
    if len(fields) > MAX_FIELDS:
        raise ValueError(f"a contact has at most {MAX_FIELDS} custom fields, this row has {len(fields)}")
    return Contact(
        email=email,
        phone=phone,
        first_name=_text(row.get("first_name")),
        last_name=_text(row.get("last_name")),
        company=_text(row.get("company")),
        timezone=normalise_timezone(_text(row.get("timezone"))),
        fields=fields,
    )


def _check_cells(row: Mapping[str | None, Any]) -> None:
    """Refuse a row whose text storage cannot hold (NUL, unpaired surrogates) or past its length."""
    given = row.get("fields")
    cells = [*row.items(), *(given.items() if isinstance(given, Mapping) else [])]
    for key, value in cells:
        if key is None or isinstance(value, Mapping):
            continue
        name = str(key)
        limit = MAX_NAME if name in COLUMNS else MAX_TEXT
        for what, text, most in (("column name", name, MAX_FIELD_NAME), ("value", value, limit)):
            if not isinstance(text, str):
                continue
            problem = text_problem(text)
            if problem:
                raise ValueError(f"{name!r}: the {what} {problem}")
            if len(text) > most:
                raise ValueError(f"{name!r}: the {what} is longer than {most} characters")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__} {value!r}")
    return value.strip() or None


class _BoundedLines:
    """The lines of a CSV text for csv.reader, refusing a record past MAX_RECORD characters before
    the reader holds it: a line of 200 million commas would otherwise become 200 million cells."""

    def __init__(self, text: TextIO, most: int = MAX_RECORD) -> None:
        self.text, self.most, self.used, self.lines, self.first = text, most, 0, 0, 1

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.most - self.used + 1)
        if not line:
            raise StopIteration
        self.used += len(line)
        self.lines += 1
        if self.used > self.most:
            raise MalformedCsv(
                f"the CSV record from line {self.first} on is longer than {self.most:,} characters"
            )
        return line

    def next_record(self) -> None:
        self.used, self.first = 0, self.lines + 1


def csv_rows(text: TextIO) -> Iterator[dict[str | None, Any]]:
    """The data rows of a contacts CSV, read lazily; the header is checked before this returns."""
    lines = _BoundedLines(text)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as broken:
        raise MalformedCsv(f"the CSV header cannot be read: {broken}") from None
    lines.next_record()
    names = [name.strip().lower() for name in header or []]
    if not any(names):
        raise MalformedCsv("the CSV file is empty: expected a header row naming its columns")
    _check_header(names)
    if "email" not in names and "phone" not in names:
        raise MalformedCsv(
            f"the CSV header has no email or phone column (it has: {', '.join(names)}); "
            f"expected a header row naming some of {', '.join(COLUMNS)}"
        )
    return _records(reader, lines, names)


def _check_header(names: list[str]) -> None:
    """Refuse a header past MAX_COLUMNS, with an unstorable or overlong name, or naming a column twice.

    Linear in the header's width: one pass, one set (a count per column would be quadratic)."""
    if len(names) > MAX_COLUMNS:
        raise MalformedCsv(f"the CSV header has {len(names):,} columns; at most {MAX_COLUMNS:,} are accepted")
    seen: set[str] = set()
    duplicates: set[str] = set()
    for position, name in enumerate(names, start=1):
        problem = text_problem(name)
        if problem or len(name) > MAX_FIELD_NAME:
            reason = problem or f"is longer than {MAX_FIELD_NAME} characters"
            raise MalformedCsv(f"the CSV header's column {position} {reason}")
        if name in seen:
            duplicates.add(name)
        seen.add(name)
    duplicates.discard("")  # unnamed columns are ignored, however many
    if duplicates:
        raise MalformedCsv(f"the CSV header names these columns twice: {', '.join(sorted(duplicates))}")


def _records(reader: Any, lines: _BoundedLines, names: list[str]) -> Iterator[dict[str | None, Any]]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as broken:
            raise MalformedCsv(
                f"the CSV file cannot be read after line {reader.line_num}: {broken}"
            ) from None
        lines.next_record()
        if not any(cell.strip() for cell in cells):
            yield {}  # a blank line: skipped, but counted so later row numbers match the file
            continue
        record: dict[str | None, Any] = {name: cell for name, cell in zip(names, cells, strict=False) if name}
        if len(cells) > len(names):
            record[None] = cells[len(names) :]
        yield record
