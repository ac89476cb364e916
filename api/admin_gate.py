"""The operators' gate: every /admin/v1 call carries `Authorization: Bearer <ADMIN_API_KEY>`.

A pure ASGI middleware, installed only when the setting is given (without it the admin routes do
not exist at all: 404), that decides before any body is read: a missing or wrong key is a 401.
The key is compared in constant time (hmac.compare_digest), so its answer time tells nothing of
how much of a guess was right.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem_response
from api.gate import bearer_key

PREFIX = "/admin/"


def admin_key_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class AdminGate:
    def __init__(self, app: ASGIApp, admin_api_key: str) -> None:
        self.app, self.admin_api_key = app, admin_api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] + "/").startswith(PREFIX):
            authorization = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"authorization"), ""
            )
            key = bearer_key(authorization)
            if not admin_key_matches(key, self.admin_api_key):
                detail = "the admin key is not valid" if key else "send Authorization: Bearer <ADMIN_API_KEY>"
                await problem_response(401, "Unauthorized", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)
