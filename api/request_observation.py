"""Pure ASGI middleware, the outermost: gives each request its id and times it.

The id is the caller's `X-Request-ID` when it is a plain token of at most 128 characters, else a
new one; it is answered in `X-Request-ID` and carried by every log line of the request, with the
brand (decided by the gate) and the campaign of the path once known (storage/log_context.py). The
time from the request's arrival to the end of its answer goes to
`campaign_service_http_request_seconds{method,route,status}`, `route` being the route's template
(`/v1/campaign/{campaign_id}`), never the raw path, so the labels stay few.
"""

from __future__ import annotations

import logging
import re
import time
from uuid import uuid4

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage import log_context

log = logging.getLogger(__name__)
HTTP_REQUEST_SECONDS = Histogram(
    "campaign_service_http_request_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNROUTED = "unrouted"  # answered before routing (the gate's 401 or 413), or no route matched


class RequestObservation:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if GIVEN_ID.fullmatch(given) else uuid4().hex
        status = 500

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                _bind_what_routing_found(scope)  # for the access log, written as the answer starts
            await send(message)

        with log_context.bound(request_id=request_id, brand_id=None, campaign_id=None):
            log.debug("request started: %s %s", scope["method"], scope["path"])
            try:
                await self.app(scope, receive, answered)
            finally:
                route = getattr(scope.get("route"), "path", UNROUTED)
                method = scope["method"] if scope["method"] in METHODS else "OTHER"
                HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(time.perf_counter() - started)


def _bind_what_routing_found(scope: Scope) -> None:
    campaign = scope.get("path_params", {}).get("campaign_id")
    log_context.bind(brand_id=scope.get("state", {}).get("brand_id"), campaign_id=campaign)
