"""Signing in to the console with a brand's API key, and signing out.

GET /console/sign-in shows the form with a token that must come back equal to its own short-lived
cookie (a sign-in cannot be posted from another site: login CSRF); POST /console/sign-in opens a
server-side session for a live key (commands/access/console_sessions.py) and lands on the
campaign list; a key that is not live shows the form again (401). POST /console/sign-out ends the
session (its CSRF token required, like every form that changes something).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.pages import page
from api.console.sessions import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    CheckedForm,
    CsrfRefused,
    form_fields,
    same_token,
    set_cookie,
    set_session_cookie,
)
from api.deps import ServicesDep
from commands.access.console_sessions import end_session, open_session

router = APIRouter()


def _form(request: Request, refused: bool = False) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "sign_in.html",
        None,
        status_code=401 if refused else 200,
        sign_in_token=token,
        refused=refused,
    )
    set_cookie(response, request, SIGN_IN_COOKIE, token, 3600)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _form(request)


@router.post("/sign-in")
async def sign_in(request: Request, services: ServicesDep) -> Response:
    fields = await form_fields(request)
    if not same_token(fields.get("csrf_token"), request.cookies.get(SIGN_IN_COOKIE)):
        raise CsrfRefused()
    opened = await run_in_threadpool(
        open_session, services.db, fields.get("api_key", ""), services.clock.now()
    )
    if opened is None:
        return _form(request, refused=True)
    response = RedirectResponse("/console/", status_code=303)
    set_session_cookie(response, request, opened.token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: CheckedForm, services: ServicesDep) -> Response:
    end_session(services.db, request.cookies.get(SESSION_COOKIE, ""), services.clock.now())
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
