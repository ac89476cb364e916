"""The console: server-rendered pages at /console/ for people who would rather look than read JSON.

Sign in with a brand's API key (sign_in.py, sessions.py), then the brand's campaigns and each
campaign now or as of a moment (campaign_pages.py), its credits (credit_pages.py) and the health
of its sender accounts, with the parked items for an operator holding the admin key
(health_pages.py). Pages are Jinja2 templates (templates/) with a stylesheet (static/), charts are
inline SVG (charts.py): no script is needed to read any page. `install_console` mounts it all on
the API's app.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from api.console import campaign_pages, credit_pages, health_pages, sign_in
from api.console.pages import HERE, page
from api.console.sessions import CsrfRefused, SignInFirst

router = APIRouter(prefix="/console", include_in_schema=False)
for part in (sign_in, campaign_pages, credit_pages, health_pages):
    router.include_router(part.router)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/console/sign-in", status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    reason = "This form did not carry this session's token (CSRF), so nothing was changed."
    return page(request, "forbidden.html", None, status_code=403, reason=reason)


def install_console(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_exception_handler(SignInFirst, _sign_in_first)
    app.add_exception_handler(CsrfRefused, _refused)
