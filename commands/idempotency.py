"""Idempotency keys: a repeated create or launch with the same key and request returns the first answer.

The first request with a key claims it; its answer is stored, and a repeat with the same request
(the same route and body, compared by fingerprint) gets that answer without running again. The
same key on another request is refused (KeyReused), and while the first is still running a repeat
waits its turn (KeyInUse). A claim is a lease: if its request died before answering (a crash leaves
no answer and nothing to delete it), the claim may be taken over once `LEASE` has passed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidInput
from storage.database import Database

LEASE = timedelta(seconds=60)  # longer than any create or launch takes


class KeyInUse(Conflict):
    """A request with this key is still running."""


class KeyReused(InvalidInput):
    """The key was used for another request (another route, or another body)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [{"field": "header.Idempotency-Key", "error": message}])


def fingerprint(scope: str, request: Any) -> str:
    """What makes two requests the same one: the route (method and path) and the body's content."""
    canonical = json.dumps([scope, request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def once(
    db: Database,
    brand_id: UUID,
    key: str | None,
    scope: str,
    run: Callable[[], tuple[int, Any]],
    request: Any = None,
) -> tuple[int, Any]:
    """Run `run` the first time `key` is seen for this brand; replay its answer afterwards."""
    if not key:
        return run()
    claimed_at = _claim(db, brand_id, key, scope, fingerprint(scope, request))
    if not isinstance(claimed_at, datetime):
        return claimed_at  # the first answer, replayed
    try:
        status, body = run()
    except Exception:
        db.execute(
            "DELETE FROM idempotency_keys WHERE brand_id = %s AND key = %s AND claimed_at = %s",
            (brand_id, key, claimed_at),
        )
        raise
    db.execute(
        """UPDATE idempotency_keys SET status = %s, body = %s
           WHERE brand_id = %s AND key = %s AND claimed_at = %s""",
        (status, Jsonb(body), brand_id, key, claimed_at),
    )
    return status, body


def _claim(
    db: Database, brand_id: UUID, key: str, scope: str, request_print: str
) -> datetime | tuple[int, Any]:
    """Claim the key (new, or left unanswered past its lease) and return the claim's time; or return
    the answer the same request got before; KeyReused or KeyInUse otherwise."""
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO idempotency_keys AS k (brand_id, key, scope, fingerprint, claimed_at)
               VALUES (%(brand)s, %(key)s, %(scope)s, %(print)s, now())
               ON CONFLICT (brand_id, key) DO UPDATE
                   SET scope = EXCLUDED.scope, fingerprint = EXCLUDED.fingerprint, claimed_at = now()
                   WHERE k.status IS NULL AND coalesce(k.claimed_at, k.created_at) < now() - %(lease)s
               RETURNING claimed_at""",
            {"brand": brand_id, "key": key, "scope": scope, "print": request_print, "lease": LEASE},
        )
        claim = cur.fetchone()
        if claim is not None:
            claimed_at: datetime = claim["claimed_at"]
            return claimed_at
        cur.execute(
            "SELECT scope, fingerprint, status, body FROM idempotency_keys WHERE brand_id = %s AND key = %s",
            (brand_id, key),
        )
        first = cur.fetchone()
    if first is None:  # answered and deleted in between: rare; the client may simply retry
        raise KeyInUse(f"a request with Idempotency-Key {key!r} has just finished; retry")
    if first["scope"] != scope or first["fingerprint"] not in (None, request_print):
        raise KeyReused(f"Idempotency-Key {key!r} was used for another request; use a new key")
    if first["status"] is None:
        raise KeyInUse(f"a request with Idempotency-Key {key!r} is still running")
    return first["status"], first["body"]
