"""Email tracking links: the open pixel `GET /t/o/{token}` and the click redirect `GET /t/c/{token}`.

No API key: the signed token (commands/tracking/tracking_tokens.py) names the sent step, and a
forged, altered or unknown token, or one for a step not sent yet, is a 404 that records nothing.
The pixel is a 1x1 transparent GIF; the redirect goes only to a link of the campaign's step body
(commands/tracking/record_tracking.py). Neither answer may be cached, so each open and click
reaches the service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse, Response

from api.deps import ServicesDep
from commands.tracking.record_tracking import follow_click, record_open

router = APIRouter(tags=["tracking"])
Token = Annotated[str, Path(max_length=2000, description="the token of the email's tracking link")]
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}
# The smallest transparent GIF: 1x1, one transparent colour.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
PIXEL_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a 1x1 transparent GIF",
        "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}},
    }
}
REDIRECT_ANSWER: dict[int | str, dict[str, Any]] = {
    302: {
        "description": "on to the link of the message",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    }
}


@router.get("/t/o/{token}", response_class=Response, responses=PIXEL_ANSWER)
def open_pixel(token: Token, services: ServicesDep) -> Response:
    record_open(services.store, services.tracking_tokens, token, services.clock.now())
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}", status_code=302, response_class=RedirectResponse, responses=REDIRECT_ANSWER)
def click_redirect(token: Token, services: ServicesDep) -> RedirectResponse:
    url = follow_click(services.store, services.tracking_tokens, token, services.clock.now())
    return RedirectResponse(url, status_code=302, headers=NO_STORE)
