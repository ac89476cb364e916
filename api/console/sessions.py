"""Who is signed in to the console, and whether a form is the session's own.

The cookie `console_session` holds the session's random token (commands/access/console_sessions.py
stores only its sha256): HttpOnly, SameSite=Strict, path /console, and Secure when the request came
over HTTPS. A page asks `signed_in` (no live session: a 303 to the sign-in page); a form that
changes something asks `checked_form`, which reads the urlencoded body and answers 403, before
anything is changed, unless its `csrf_token` field is the session's token. The sign-in form, sent
before there is a session, carries a token that must equal its own cookie (`console_sign_in`).
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api.deps import services_of
from commands.access.console_sessions import SESSION_LIFETIME, ConsoleSession, live_session

SESSION_COOKIE = "console_session"
SIGN_IN_COOKIE = "console_sign_in"
FORM_LIMIT = 64 * 1024  # the console's forms hold a few short fields


class SignInFirst(Exception):
    """A page asked for without a live session: answered with a redirect to the sign-in page."""


class CsrfRefused(Exception):
    """A state-changing form without the session's token: answered 403, nothing changed."""


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    set_cookie(response, request, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))


def session_of(request: Request) -> ConsoleSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    services = services_of(request)
    return live_session(services.db, token, services.clock.now())


def signed_in(request: Request) -> ConsoleSession:
    """The live session of the request (its brand); SignInFirst without one."""
    session = session_of(request)
    if session is None:
        raise SignInFirst()
    return session


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded form's fields (the first value of each)."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise HTTPException(413, "the form is too large")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


async def checked_form(request: Request) -> tuple[ConsoleSession, dict[str, str]]:
    """The session and the form's fields, if the form carries the session's CSRF token; else
    CsrfRefused (a 403) before anything is read from or written to the store."""
    fields = await form_fields(request)
    session = await run_in_threadpool(session_of, request)
    if session is None or not same_token(fields.get("csrf_token"), session.csrf_token):
        raise CsrfRefused()
    return session, fields


SessionDep = Annotated[ConsoleSession, Depends(signed_in)]
CheckedForm = Annotated[tuple[ConsoleSession, dict[str, str]], Depends(checked_form)]
