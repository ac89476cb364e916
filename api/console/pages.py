"""What every console page shares: the templates, the page helper that fills in the session's
brand and CSRF token and sets the headers that keep a page from being framed, cached or made to
load anything from elsewhere (a content security policy of 'self'), and the 404 page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from commands.access.console_sessions import ConsoleSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def _moment(value: datetime | None) -> str:
    """A time as the console shows and reads it: UTC, ISO-8601, to the microsecond when it has one."""
    if value is None:
        return ""
    text = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return text


def _short(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["moment"] = _moment
templates.env.filters["short"] = _short


# Every page: no framing by another site, nothing loaded or posted anywhere but here, not cached.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(
    request: Request,
    name: str,
    session: ConsoleSession | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return templates.TemplateResponse(
        request,
        name,
        {"session": session, "csrf_token": session.csrf_token if session else "", **context},
        status_code=status_code,
        headers=HEADERS,
    )


def not_found(request: Request, session: ConsoleSession | None, what: str) -> Response:
    return page(request, "not_found.html", session, status_code=404, what=what)


def parse_id(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
