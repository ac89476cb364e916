"""What every log line of a request or of a worker's batch carries besides its message: the
request's id, and the brand and campaign it is about where they are known. Kept in context
variables, so that whatever logs inside the request or the batch (a use case, the SDK of a
provider, the server's access log) needs no parameter for them; runtime/logs.py puts them on
each line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

FIELDS = ("request_id", "brand_id", "campaign_id")
_values: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}


def current() -> dict[str, str]:
    """The fields known here, by name (none of them: an empty dict)."""
    return {name: value for name, var in _values.items() if (value := var.get()) is not None}


def bind(**fields: str | UUID | None) -> None:
    """Known from here on in this context (a request's task, a batch's thread)."""
    for name, value in fields.items():
        if value is not None:
            _values[name].set(str(value))


@contextmanager
def bound(**fields: str | UUID | None) -> Iterator[None]:
    """Known inside the block only."""
    tokens = [
        (_values[name], _values[name].set(None if value is None else str(value)))
        for name, value in fields.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
