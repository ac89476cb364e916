"""One-click unsubscribe (RFC 8058): the `List-Unsubscribe` link every email carries.

No API key: the signed token (commands/audience/unsubscribe_tokens.py) says whose address it is
and for which brand, and a forged or altered token is a 404 that changes nothing. GET shows a
small page with a button; POST with the body `List-Unsubscribe=One-Click`, which mailbox providers
send on the recipient's behalf, puts the address on the brand's suppression list, and that
withdraws its pending steps in every running campaign of the brand; the campaign whose email
carried the link records the opt-out for its deliverability guard.
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from commands.inbound.opt_outs import unsubscribe_by_link
from domain.errors import InvalidInput, NotFound

router = APIRouter(tags=["unsubscribe"])
Token = Annotated[str, Path(max_length=2000, description="the token of the email's List-Unsubscribe link")]
ONE_CLICK_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
                "required": ["List-Unsubscribe"],
            }
        }
    },
}
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "a page for the recipient", "content": {"text/html": {}}}
}


class NotOneClick(InvalidInput):
    """A POST to an unsubscribe link without the RFC 8058 body."""


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The urlencoded body, read before the (plain `def`) route runs."""
    return parse_qs((await request.body()).decode("utf-8", "replace"))


def _request(services: ServicesDep, token: str) -> UnsubscribeRequest:
    tokens = services.unsubscribe_tokens
    request = tokens.read(token) if tokens is not None else None
    if request is None:
        raise NotFound("this unsubscribe link")
    return request


@router.get("/u/{token}", response_class=HTMLResponse, responses=HTML_PAGE)
def unsubscribe_page(token: Token, services: ServicesDep) -> HTMLResponse:
    request = _request(services, token)
    address = html.escape(request.address)
    return HTMLResponse(
        "<!doctype html><title>Unsubscribe</title>"
        f"<p>Stop emails to <b>{address}</b>?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    responses=HTML_PAGE,
    openapi_extra={"requestBody": ONE_CLICK_BODY},
)
def unsubscribe(
    token: Token, services: ServicesDep, form: Annotated[dict[str, list[str]], Depends(form_fields)]
) -> HTMLResponse:
    request = _request(services, token)
    if form.get("List-Unsubscribe") != ["One-Click"]:
        raise NotOneClick("the body must be List-Unsubscribe=One-Click (RFC 8058)")
    unsubscribe_by_link(services.store, services.db, request, services.clock.now())
    return HTMLResponse(
        f"<!doctype html><title>Unsubscribed</title><p>{html.escape(request.address)} is unsubscribed.</p>"
    )
