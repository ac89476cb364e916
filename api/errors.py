"""The one error mapping: domain and use-case errors become RFC 9457 problem+json answers. Anything
else a route raises (a bug, a bare ValueError) is a 500 problem with a generic detail and
an id to find its traceback in the log; the answer never shows the code's own words.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commands.audience.contact_rows import MalformedCsv
from commands.audience.import_contacts import TooManyRows
from commands.audience.suppressions import InvalidAddress
from commands.campaigns.campaign_templates import InvalidTemplate
from commands.campaigns.launch_campaign import CannotRun
from commands.idempotency import KeyInUse, KeyReused
from commands.sending.credentials import CredentialsUnavailable
from commands.sending.sender_accounts import DuplicateSenderAccount, InvalidSenderAccount
from domain.api_keys import LastApiKey
from domain.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    IllegalTransition,
    InsufficientCredits,
    InvalidCampaign,
    InvalidInput,
    NotFound,
    ServiceError,
    Unavailable,
)
from storage.paging import InvalidCursor

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://campaign-service.dev/problems/"
log = logging.getLogger(__name__)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_response(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


class ProblemOnCrash:
    """Pure ASGI middleware: an exception no handler mapped is logged and answered as a 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if scope["type"] != "http" or started:
                raise  # too late to answer: the server closes the connection
            error_id = uuid4()
            log.exception("unexpected error %s answering %s %s", error_id, scope["method"], scope["path"])
            detail = f"the service failed to answer; the error is logged as {error_id}"
            await problem_response(500, "Internal server error", detail)(scope, receive, send)


# The one mapping from the errors use cases raise to HTTP: the most specific class listed wins.
PROBLEMS: dict[type[Exception], tuple[int, str]] = {
    InvalidCursor: (400, "Invalid cursor"),
    Forbidden: (403, "Forbidden"),
    InsufficientCredits: (402, "Insufficient credits"),
    TooManyRows: (413, "Too many rows"),
    NotFound: (404, "Not found"),
    DuplicateSenderAccount: (409, "Sender account exists"),
    AlreadyExists: (409, "Already exists"),
    IllegalTransition: (409, "Illegal transition"),
    LastApiKey: (409, "Last API key"),
    KeyInUse: (409, "Idempotency key in use"),
    Conflict: (409, "Conflict"),
    CannotRun: (422, "Campaign cannot run"),
    InvalidCampaign: (422, "Invalid campaign"),
    InvalidTemplate: (422, "Invalid template"),
    InvalidSenderAccount: (422, "Invalid sender account"),
    InvalidAddress: (422, "Invalid address"),
    MalformedCsv: (422, "Malformed CSV"),
    KeyReused: (422, "Idempotency key reused"),
    InvalidInput: (422, "Invalid input"),
    CredentialsUnavailable: (503, "Credentials storage not configured"),
    Unavailable: (503, "Unavailable"),
    ServiceError: (400, "Bad request"),
}
LOCATIONS = ("body.", "header.", "query.", "path.")
# RFC 9110's name where Python 3.11's HTTPStatus still has RFC 7231's (3.13 has RFC 9110's): a body
# past its limit is the same problem, `content-too-large`, whether Content-Length declared it (the
# gate answers at once) or the stream passed it (BodyTooLarge, answered here), on any Python.
TITLES = {413: "Content Too Large"}


def problem_for(error: Exception) -> JSONResponse:
    """The problem answer of a use case's error, from the table."""
    status, title = next(PROBLEMS[kind] for kind in type(error).__mro__ if kind in PROBLEMS)
    details = error.details() if isinstance(error, ServiceError) else {}
    if "errors" in details:  # fields a use case names are the request body's unless it says otherwise
        details["errors"] = [
            {**e, "field": e["field"] if e["field"].startswith(LOCATIONS) else f"body.{e['field']}"}
            for e in details["errors"]
        ]
    detail = f"{error} does not exist" if isinstance(error, NotFound) else str(error)
    return problem_response(status, title, detail, **details)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(_: Request, error: Problem) -> JSONResponse:
        return problem_response(error.status, error.title, error.detail, **error.extra)

    @app.exception_handler(ServiceError)
    async def on_service_error(_: Request, error: ServiceError) -> JSONResponse:
        return problem_for(error)

    @app.exception_handler(InvalidCursor)
    async def on_invalid_cursor(_: Request, error: InvalidCursor) -> JSONResponse:
        return problem_for(error)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in item["loc"]), "error": item["msg"]}
            for item in error.errors()
        ]
        detail = "; ".join(f"{f['field']}: {f['error']}" for f in fields)
        return problem_response(422, "Invalid request", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, error: HTTPException) -> JSONResponse:
        title = TITLES.get(error.status_code) or HTTPStatus(error.status_code).phrase
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem_response(error.status_code, title, str(error.detail), headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)
