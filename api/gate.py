"""The gate every request passes before routing: a /v1 call's API key first, then its body's size.

A pure ASGI middleware, so nothing is read before it decides: a request without a valid bearer key
is a 401 however large or malformed its body (the key is looked up with commands.credits.brands, and the
brand it decides is left in the request's state for the `brand` dependency); a body past its limit
is a 413, at once when Content-Length says so, else as soon as the stream passes it. Webhooks,
tracking links, unsubscribes, probes and the documentation carry no key. A key once found stays
known for a minute (`KnownKeys`): a brand's key never changes, so a call within that minute is
decided without a query and without a hop to a worker thread; a key not found is looked up every
time, so no stranger's guess is remembered. A suspended brand's call is a 403 `brand-suspended`
(`suspended`, api/suspensions.py: read at most every half second).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response

MIB = 1 << 20
JSON_BODY_LIMIT = 1 * MIB
CONTACTS_JSON_LIMIT = 16 * MIB
CONTACTS_CSV_LIMIT = 256 * MIB
CONTACT_UPLOAD = re.compile(r"^/v1/lead-groups/[^/]+/contacts/?$")


class BodyTooLarge(HTTPException):
    """The body passed its limit while it was being read (an HTTPException, so FastAPI passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body may hold at most {_size(limit)}")


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB"


def body_limit(method: str, path: str, content_type: str) -> int:
    """The most bytes a request's body may hold: contact uploads are larger, CSV the largest."""
    if method == "POST" and CONTACT_UPLOAD.match(path):
        return CONTACTS_CSV_LIMIT if content_type.startswith("text/csv") else CONTACTS_JSON_LIMIT
    return JSON_BODY_LIMIT


def bearer_key(authorization: str) -> str | None:
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


class KnownKeys:
    """The brands of the keys found lately, each for `ttl` seconds, at most `size` of them (the
    least recently used go first). Used from the event loop's thread only."""

    def __init__(
        self, ttl: float = 60.0, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._found: OrderedDict[str, tuple[UUID, float]] = OrderedDict()

    def get(self, key: str) -> UUID | None:
        entry = self._found.get(key)
        if entry is None:
            return None
        brand, until = entry
        if self.clock() >= until:
            del self._found[key]
            return None
        self._found.move_to_end(key)
        return brand

    def put(self, key: str, brand: UUID) -> None:
        self._found[key] = (brand, self.clock() + self.ttl)
        self._found.move_to_end(key)
        while len(self._found) > self.size:
            self._found.popitem(last=False)


class RequestGate:
    def __init__(
        self,
        app: ASGIApp,
        brand_for_key: Callable[[str], UUID | None],
        known: KnownKeys | None = None,
        suspended: Callable[[UUID], Awaitable[bool]] | None = None,
    ) -> None:
        self.app = app
        self.brand_for_key = brand_for_key
        self.known = KnownKeys() if known is None else known
        self.suspended = suspended

    async def _brand(self, key: str) -> UUID | None:
        brand = self.known.get(key)
        if brand is None:
            brand = await run_in_threadpool(self.brand_for_key, key)
            if brand is not None:
                self.known.put(key, brand)
        return brand

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        path, method = scope["path"], scope["method"]
        if path == "/v1" or path.startswith("/v1/"):
            key = bearer_key(headers.get("authorization", ""))
            brand = await self._brand(key) if key else None
            if brand is None:
                detail = "the API key is not valid" if key else "send Authorization: Bearer <api_key>"
                await problem_response(401, "Unauthorized", detail)(scope, receive, send)
                return
            if self.suspended is not None and await self.suspended(brand):
                detail = "this brand is suspended: its API calls are refused and nothing of it is sent"
                await problem_response(403, "Brand suspended", detail)(scope, receive, send)
                return
            scope.setdefault("state", {})["brand_id"] = brand
        limit = body_limit(method, path, headers.get("content-type", "").lower())
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            too_large = BodyTooLarge(limit)  # the same answer as when the stream passes the limit
            await problem_response(413, "Content Too Large", too_large.detail)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive`, raising BodyTooLarge once the body's chunks add up past `limit`."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
