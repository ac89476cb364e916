"""The one place logging is set up: every process's lines go to stderr, as one JSON object a line
(`LOG_FORMAT=json`, the default when stderr is not a terminal) with `time`, `level`, `logger`,
`message` and, where known, `request_id`, `brand_id` and `campaign_id` (storage/log_context.py),
or as text for people at a terminal. uvicorn's access log goes through the same handler.

Nothing here logs a secret or a message's body; that is each caller's care (credentials and API
keys are never put in a log call, bodies neither), checked by tests/integration/test_log_lines.py.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from storage import log_context

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


class WithContext(logging.Filter):
    """Puts the request, brand and campaign known where the line is logged on the record; an access
    log line also gets its method, path and status as fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = log_context.current()
        for name, value in known.items():
            setattr(record, name, value)
        record.context = "".join(f" {name}={value}" for name, value in known.items())
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            _, record.method, record.path, _, record.status = args
        return True


class JsonLines(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message)
        log_data.pop("context", None)  # the text format's suffix; the fields themselves are there
        log_data.pop("color_message", None)  # uvicorn's message again, with terminal colours


_handler: logging.Handler | None = None
_level_before: int = logging.WARNING


def configure_logging(level: str = "INFO", fmt: str | None = None) -> None:
    """Send every logger's lines (uvicorn's too) to stderr in `fmt` (`json`, `text`, or None: text
    on a terminal, else json). Configuring again replaces the handler, never adds a second one; a
    process whose logging someone else set up first (a test runner calling `main`) is left as it is,
    as `logging.basicConfig` would."""
    global _handler, _level_before
    root = logging.getLogger()
    if _handler is None and root.handlers:
        return
    fmt = fmt or ("text" if sys.stderr.isatty() else "json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(WithContext())
    if fmt == "json":
        handler.setFormatter(
            JsonLines("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields=RENAMED)
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    if _handler is None:
        _level_before = root.level
    else:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _handler = handler
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler, at its level
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)


def reset_logging() -> None:
    """Undo `configure_logging` (for a test that called it in its own process)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        logging.getLogger().setLevel(_level_before)
        _handler = None
