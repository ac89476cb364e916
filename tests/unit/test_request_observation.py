"""What the outermost middleware gives every request, as an operator reads it (api/request_observation.py):
its id (the caller's `X-Request-ID` when it is a plain token of at most 128 characters, else a new
one), answered back and carried by its log lines with the brand and campaign routing found, and its
time in `campaign_service_http_request_seconds` under its method, route template and status."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from api.request_observation import RequestObservation
from storage import log_context

NEW_ID = re.compile(r"[0-9a-f]{32}")


def _observed(route: str, method: str, status: str) -> tuple[float, float]:
    """How many requests were timed under these labels, and their total seconds."""
    labels = {"method": method, "route": route, "status": status}
    count = REGISTRY.get_sample_value("campaign_service_http_request_seconds_count", labels) or 0.0
    total = REGISTRY.get_sample_value("campaign_service_http_request_seconds_sum", labels) or 0.0
    return count, total


def _app() -> tuple[FastAPI, list[dict[str, str]]]:
    """An app with one route under a template; each request's log context seen by the route is kept."""
    app, seen = FastAPI(), []

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        seen.append(log_context.current())
        return {"id": thing_id}

    app.add_middleware(RequestObservation)
    return app, seen


def test_a_plain_request_id_given_is_answered_back_and_carried_by_the_requests_log_lines():
    app, seen = _app()
    http = TestClient(app)
    for given in ("req-3a9f", "A.b_c:d-9", "x" * 128):
        answer = http.get("/v1/things/1", headers={"X-Request-ID": given})
        assert answer.status_code == 200 and answer.headers["X-Request-ID"] == given
        assert seen[-1]["request_id"] == given
    assert log_context.current() == {}  # nothing of the request stays behind it


def test_a_request_without_a_usable_id_gets_a_new_one_of_its_own():
    app, seen = _app()
    http = TestClient(app)
    answered = []
    for given in (None, "", "x" * 129, "has space", "semi;colon", "caf\xe9".encode("latin-1")):
        headers = {} if given is None else {"X-Request-ID": given}
        answer = http.get("/v1/things/1", headers=headers)
        request_id = answer.headers["X-Request-ID"]
        assert NEW_ID.fullmatch(request_id), (given, request_id)
        assert seen[-1]["request_id"] == request_id
        answered.append(request_id)
    assert len(set(answered)) == len(answered)
    assert answer.headers.get_list("X-Request-ID") == [request_id]  # one id, not one more header each


def test_a_requests_time_is_recorded_under_its_route_template_method_and_status():
    app, _ = _app()
    http = TestClient(app)
    before = _observed("/v1/things/{thing_id}", "GET", "200")
    for thing in ("a", "b", "c"):
        assert http.get(f"/v1/things/{thing}").status_code == 200
    count, total = _observed("/v1/things/{thing_id}", "GET", "200")
    assert count - before[0] == 3
    assert 0 < total - before[1] < 5  # the seconds it took, not a clock's reading
    assert _observed("/v1/things/a", "GET", "200") == (0.0, 0.0)  # never the raw path


def test_a_request_no_route_takes_is_timed_as_unrouted_and_an_unknown_method_as_other():
    app, _ = _app()
    http = TestClient(app)
    before_missing = _observed("unrouted", "GET", "404")
    assert http.get(f"/nowhere/{uuid4()}").status_code == 404
    assert _observed("unrouted", "GET", "404")[0] - before_missing[0] == 1
    before_other = _observed("/v1/things/{thing_id}", "OTHER", "405")
    assert http.request("BREW", "/v1/things/1").status_code == 405
    assert _observed("/v1/things/{thing_id}", "OTHER", "405")[0] - before_other[0] == 1
    for method in ("PUT", "PATCH", "DELETE", "OPTIONS", "POST"):
        before = _observed("/v1/things/{thing_id}", method, "405")
        assert http.request(method, "/v1/things/1").status_code == 405
        assert _observed("/v1/things/{thing_id}", method, "405")[0] - before[0] == 1, method


def test_a_request_that_fails_before_any_answer_is_timed_as_a_500():
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    before = _observed("unrouted", "POST", "500")
    with pytest.raises(RuntimeError, match="a bug"):
        TestClient(RequestObservation(failing)).post("/v1/anything")
    assert _observed("unrouted", "POST", "500")[0] - before[0] == 1


def test_the_line_logged_as_the_answer_starts_carries_the_brand_and_campaign_routing_found():
    """The access log is written as the answer starts: by then the gate has decided the brand and
    routing the campaign of the path."""
    brand, campaign = uuid4(), uuid4()
    at_start: list[dict[str, str]] = []

    def answering_with(scope_extra: dict[str, Any]):
        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            scope.update(scope_extra)
            at_start.append(log_context.current())
            await send({"type": "http.response.start", "status": 204, "headers": []})
            at_start.append(log_context.current())
            await send({"type": "http.response.body", "body": b""})

        return inner

    routed = {"state": {"brand_id": brand}, "path_params": {"campaign_id": str(campaign)}}
    answer = TestClient(RequestObservation(answering_with(routed))).get(
        "/v1/campaign/x", headers={"X-Request-ID": "r-1"}
    )
    assert answer.status_code == 204 and answer.headers["X-Request-ID"] == "r-1"
    assert at_start == [
        {"request_id": "r-1"},  # nothing known of the brand before the gate decides it
        {"request_id": "r-1", "brand_id": str(brand), "campaign_id": str(campaign)},
    ]
    at_start.clear()
    TestClient(RequestObservation(answering_with({}))).get("/healthz", headers={"X-Request-ID": "r-2"})
    assert at_start == [{"request_id": "r-2"}, {"request_id": "r-2"}]  # no brand, no campaign
