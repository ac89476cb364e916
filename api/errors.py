"""The one error mapping: domain and use-case errors become RFC 9457 problem+json answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from commands.application import NotFound
from commands.launch_campaign import CannotRun
from domain.errors import DomainError, IllegalTransition, InsufficientCredits, InvalidCampaign
from storage.paging import InvalidCursor

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://campaign-service.dev/problems/"


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_response(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _from_domain(error: Exception) -> JSONResponse:
    if isinstance(error, InsufficientCredits):
        return problem_response(
            402, "Insufficient credits", str(error), needed=error.needed, available=error.available
        )
    if isinstance(error, CannotRun):
        return problem_response(422, "Campaign cannot run", str(error), problems=error.problems)
    if isinstance(error, InvalidCampaign):
        return problem_response(422, "Invalid campaign", str(error))
    if isinstance(error, IllegalTransition):
        return problem_response(409, "Illegal transition", str(error))
    return problem_response(409, "Conflict", str(error))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(_: Request, error: Problem) -> JSONResponse:
        return problem_response(error.status, error.title, error.detail, **error.extra)

    @app.exception_handler(InvalidCursor)
    async def on_invalid_cursor(_: Request, error: InvalidCursor) -> JSONResponse:
        return problem_response(400, "Invalid cursor", str(error))

    @app.exception_handler(NotFound)
    async def on_not_found(_: Request, error: NotFound) -> JSONResponse:
        return problem_response(404, "Not found", f"{error} does not exist")

    @app.exception_handler(DomainError)
    async def on_domain_error(_: Request, error: DomainError) -> JSONResponse:
        return _from_domain(error)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in item["loc"]), "error": item["msg"]}
            for item in error.errors()
        ]
        detail = "; ".join(f"{f['field']}: {f['error']}" for f in fields)
        return problem_response(422, "Invalid request", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, error: HTTPException) -> JSONResponse:
        return problem_response(error.status_code, str(error.detail), str(error.detail))
