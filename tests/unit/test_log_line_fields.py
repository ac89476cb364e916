"""What one log line carries (runtime/logs.py): the request, brand and campaign known where it was
logged, as fields of its own in JSON and as a suffix in text; an access line's method, path and
status as fields; the time in UTC to the millisecond; and neither the text suffix nor uvicorn's
coloured copy of the message in the JSON."""

from __future__ import annotations

import json
import logging

from runtime.logs import TEXT, JsonLines, WithContext
from storage import log_context

RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
CREATED = 1_765_100_000.123456  # 2025-12-07T09:33:20.123456Z


def _record(name: str, msg: str, args: tuple[object, ...] | None = None) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.created = CREATED
    return record


def _json(record: logging.LogRecord) -> dict[str, object]:
    formatter = JsonLines("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields=RENAMED)
    return json.loads(formatter.format(record))


def test_a_line_carries_the_request_brand_and_campaign_it_was_logged_under() -> None:
    record = _record("consumers.relay", "sent %d", (3,))
    with log_context.bound(request_id="r-1", brand_id="b-2", campaign_id="c-3"):
        assert WithContext().filter(record) is True
    assert (record.request_id, record.brand_id, record.campaign_id) == ("r-1", "b-2", "c-3")
    assert (
        logging.Formatter(TEXT)
        .format(record)
        .endswith("INFO consumers.relay: sent 3 request_id=r-1 brand_id=b-2 campaign_id=c-3")
    )
    line = _json(record)
    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "brand_id", "campaign_id")} == {
        "level": "INFO",
        "logger": "consumers.relay",
        "message": "sent 3",
        "request_id": "r-1",
        "brand_id": "b-2",
        "campaign_id": "c-3",
    }
    assert "context" not in line
    assert line["time"] == "2025-12-07T09:33:20.123+00:00"


def test_a_line_logged_outside_any_request_has_no_suffix_and_no_fields() -> None:
    record = _record("runtime.service", "ready")
    WithContext().filter(record)
    assert record.context == ""
    assert logging.Formatter(TEXT).format(record).endswith("runtime.service: ready")
    assert "request_id" not in _json(record)


def test_an_access_line_carries_its_method_path_and_status() -> None:
    access = ("127.0.0.1:5000", "POST", "/v1/campaign/", "1.1", 201)
    record = _record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', access)
    record.color_message = "coloured"
    WithContext().filter(record)
    line = _json(record)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/v1/campaign/", 201)
    assert "color_message" not in line
    for name, args in (("uvicorn.error", access), ("uvicorn.access", access[:4])):
        other = _record(name, "%s" * len(args), args)
        WithContext().filter(other)
        assert not hasattr(other, "method") and not hasattr(other, "status")
