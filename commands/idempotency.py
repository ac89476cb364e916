"""Idempotency keys: a repeated create or launch with the same key returns the first answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from storage.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    brand_id uuid NOT NULL,
    key text NOT NULL,
    scope text NOT NULL,
    status integer,
    body jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, key)
)
"""


class KeyInUse(Exception):
    """The key is being used by a request still running, or was used for another request."""


def once(
    db: Database, brand_id: UUID, key: str | None, scope: str, run: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run `run` the first time `key` is seen for this brand; replay its answer afterwards."""
    if not key:
        return run()
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO idempotency_keys (brand_id, key, scope) VALUES (%s, %s, %s)
               ON CONFLICT DO NOTHING RETURNING key""",
            (brand_id, key, scope),
        )
        claimed = cur.fetchone() is not None
        if not claimed:
            cur.execute(
                "SELECT scope, status, body FROM idempotency_keys WHERE brand_id = %s AND key = %s",
                (brand_id, key),
            )
            first = cur.fetchone()
    if not claimed:
        assert first is not None
        if first["scope"] != scope:
            raise KeyInUse(f"Idempotency-Key {key!r} was used for another request")
        if first["status"] is None:
            raise KeyInUse(f"a request with Idempotency-Key {key!r} is still running")
        return first["status"], first["body"]
    try:
        status, body = run()
    except Exception:
        db.execute("DELETE FROM idempotency_keys WHERE brand_id = %s AND key = %s", (brand_id, key))
        raise
    db.execute(
        "UPDATE idempotency_keys SET status = %s, body = %s WHERE brand_id = %s AND key = %s",
        (status, Jsonb(body), brand_id, key),
    )
    return status, body
