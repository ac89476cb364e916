"""The gate every request passes before routing: a /v1 call's API key, its brand's fair share, then its
body's size.

A pure ASGI middleware, so nothing is read before it decides: a request without a valid bearer key
is a 401 however large or malformed its body. The key is looked up by its sha256
(commands/access/key_lookup.py) unless `KnownKeys` remembers it (api/known_keys.py: forgotten
within a fraction of a second of a revocation anywhere); the brand and the key it decides are left
in the request's state for the `brand` dependency, and the key's use is noted for its
`last_used_at` (written in the background). Then the brand's token bucket is asked
(api/rate_limits.py): over its rate the answer is a 429 with `Retry-After`, and every answer to
the brand carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a heavy request
(a contact import) past the brand's cap of those in flight is a 429 too. A body past its limit is
a 413, at once when Content-Length says so, else as soon as the stream passes it. A suspended
brand's call is a 403 `brand-suspended` before it takes a token (`suspended`, api/suspensions.py:
read at most every half second). Webhooks, tracking links, unsubscribes, probes and the
documentation carry no key and are not limited.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response
from api.key_watch import KeyUses
from api.known_keys import KnownKeys
from api.rate_limits import Decision, HeavyWork, TokenBuckets
from commands.access.api_keys import digest
from commands.access.key_lookup import KeyHolder

MIB = 1 << 20
JSON_BODY_LIMIT = 1 * MIB
CONTACTS_JSON_LIMIT = 16 * MIB
CONTACTS_CSV_LIMIT = 256 * MIB
CONTACT_UPLOAD = re.compile(r"^/v1/lead-groups/[^/]+/contacts/?$")
HEAVY_RETRY_AFTER = 5  # seconds: a contact import takes a while, asking again at once is no use


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


def is_heavy(method: str, path: str) -> bool:
    """A contact import (JSON or a CSV file of up to 256 MiB), capped per brand in flight."""
    return method == "POST" and CONTACT_UPLOAD.match(path) is not None


def bearer_key(authorization: str) -> str | None:
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


@dataclass(frozen=True)
class Admission:
    """What the gate decides with, one of each per API process (the composition root builds them)."""

    key_holder: Callable[[str], KeyHolder | None]  # by the key's sha256: a query, run on a worker thread
    known: KnownKeys
    uses: KeyUses
    buckets: TokenBuckets | None  # None: requests are not rate limited (the benchmark's baseline)
    heavy: HeavyWork
    now: Callable[[], datetime]  # when a key is used, for its last_used_at
    suspended: Callable[[UUID], Awaitable[bool]] | None = None  # whether a brand is suspended now


class RequestGate:
    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def _holder(self, key: str) -> KeyHolder | None:
        known, key_sha256 = self.admission.known, digest(key)
        holder = known.get(key_sha256)
        if holder is None:
            generation = known.generation  # a revocation learnt meanwhile: not remembered
            holder = await run_in_threadpool(self.admission.key_holder, key_sha256)
            if holder is not None:
                known.put(key_sha256, holder, generation)
        return holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        path, method = scope["path"], scope["method"]
        if path != "/v1" and not path.startswith("/v1/"):
            await self._within_limit(scope, receive, send, headers)
            return
        key = bearer_key(headers.get("authorization", ""))
        holder = await self._holder(key) if key else None
        if holder is None:
            detail = "the API key is not valid" if key else "send Authorization: Bearer <api_key>"
            await problem_response(401, "Unauthorized", detail)(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["brand_id"], state["api_key_id"] = holder.brand_id, holder.key_id
        admission, brand = self.admission, holder.brand_id
        if admission.suspended is not None and await admission.suspended(brand):
            detail = "this brand is suspended: its API calls are refused and nothing of it is sent"
            await problem_response(403, "Brand suspended", detail)(scope, receive, send)
            return
        admission.uses.note(holder.key_id, admission.now)
        answer, decision = send, None
        if admission.buckets is not None:
            decision = admission.buckets.take(brand, holder.plan)
            if not decision.allowed:
                detail = f"this brand may make {decision.limit} requests at once, refilled at its plan's rate"
                await _too_many(decision.retry_after, decision, detail)(scope, receive, send)
                return
            answer = _with_headers(send, decision.raw_headers())
        heavy = is_heavy(method, path)
        if heavy and not admission.heavy.enter(brand):
            detail = f"this brand may run {admission.heavy.per_brand} contact imports at once"
            await _too_many(HEAVY_RETRY_AFTER, decision, detail)(scope, receive, send)
            return
        try:
            await self._within_limit(scope, receive, answer, headers)
        finally:
            if heavy:
                admission.heavy.leave(brand)

    async def _within_limit(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        limit = body_limit(scope["method"], scope["path"], headers.get("content-type", "").lower())
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            too_large = BodyTooLarge(limit)  # the same answer as when the stream passes the limit
            await problem_response(413, "Content Too Large", too_large.detail)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _too_many(retry_after: int, decision: Decision | None, detail: str) -> JSONResponse:
    limits = decision.headers() if decision is not None else {}
    headers = {**limits, "Retry-After": str(max(1, retry_after))}
    return problem_response(429, "Too Many Requests", detail, headers=headers)


def _with_headers(send: Send, raw: list[tuple[bytes, bytes]]) -> Send:
    """`send`, adding `raw` to the answer's headers."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *raw]}
        await send(message)

    return sending


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
