"""Reading a JSON contacts upload into rows, with work bounded by the limits rather than the body.

pydantic reports every bad item of a list, even of one past its `max_length`, and four errors for
each bad custom field (one per alternative of its type): a 10 MiB upload of bad fields made four
million errors, 8 GB and minutes of CPU. So the sizes of the containers are checked first (at most
MAX_CONTACTS contacts, MAX_KEYS keys in the body, a contact or its fields), then each contact is
validated alone, and the problems are listed up to MAX_PROBLEMS, where validation stops.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.schemas import MAX_JSON_CONTACTS, ContactIn, ContactsIn
from commands.audience.contact_rows import MAX_FIELDS

MAX_KEYS = MAX_FIELDS  # keys of the body, of a contact, and of its `fields`
MAX_PROBLEMS = 100  # problems listed in one answer: validation stops there


def json_rows(body: bytes) -> list[dict[str, Any]]:
    """The contacts of a JSON upload as plain rows; RequestValidationError naming what is wrong."""
    # json.loads, like FastAPI's own parsing: pydantic's JSON reader refuses an escaped lone
    # surrogate as broken JSON, where the field that holds it should be named instead.
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as broken:
        raise RequestValidationError([_problem("json_invalid", (), f"JSON decode error: {broken}")]) from None
    envelope, contacts = parsed, None
    if isinstance(parsed, dict):
        _check_size(parsed, (), MAX_KEYS, "keys")
        contacts = parsed.get("contacts")
        if isinstance(contacts, list):
            _check_size(contacts, ("contacts",), MAX_JSON_CONTACTS, "contacts")
            envelope = {**parsed, "contacts": []}
    _validate(ContactsIn, envelope, ())  # the body without its contacts: one answer is a list
    rows: list[dict[str, Any]] = []
    problems: list[Any] = []
    for index, contact in enumerate(contacts or []):
        where = ("contacts", index)
        try:
            if isinstance(contact, dict):
                _check_size(contact, where, MAX_KEYS, "keys")
                if isinstance(contact.get("fields"), dict):
                    _check_size(contact["fields"], (*where, "fields"), MAX_FIELDS, "fields")
            rows.append(_validate(ContactIn, contact, where).model_dump())
        except RequestValidationError as invalid:
            problems += invalid.errors()
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise RequestValidationError(problems[:MAX_PROBLEMS])
    return rows


def _validate(model: type[BaseModel], value: Any, where: tuple[Any, ...]) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as invalid:
        errors = invalid.errors()[:MAX_PROBLEMS]
        raise RequestValidationError(
            [{**error, "loc": ("body", *where, *error["loc"])} for error in errors]
        ) from None


def _check_size(container: dict[Any, Any] | list[Any], where: tuple[Any, ...], most: int, what: str) -> None:
    if len(container) > most:
        message = f"at most {most:,} {what}, not {len(container):,}"
        raise RequestValidationError([_problem("too_long", where, message)])


def _problem(kind: str, where: tuple[Any, ...], message: str) -> dict[str, Any]:
    return {"type": kind, "loc": ("body", *where), "msg": message, "input": ""}
