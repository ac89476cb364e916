"""What the API's request gate asks of the keys on its way, each in one statement.

`key_holder`: whose a presented key is (its brand, the brand's plan, the key's id), for a live key
only. `latest_revocation` and `revoked_since`: the revocation numbers an API process polls to
forget keys revoked anywhere (decision record 20). `record_uses`: the keys' `last_used_at`, many
keys in one statement, written by the gate's background thread, never on a request's way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.access.api_keys import digest
from storage.database import Database


@dataclass(frozen=True)
class KeyHolder:
    key_id: UUID
    brand_id: UUID
    plan: str


def key_holder(db: Database, key_sha256: str) -> KeyHolder | None:
    """The holder of the live key with this digest (`api_keys.digest`), or None."""
    row = db.fetch_one(
        """SELECT k.id, k.brand_id, b.plan FROM api_keys k JOIN brands b ON b.id = k.brand_id
           WHERE k.key_sha256 = %s AND k.revoked_at IS NULL""",
        (key_sha256,),
    )
    return KeyHolder(row["id"], row["brand_id"], row["plan"]) if row else None


def brand_for_key(db: Database, api_key: str) -> UUID | None:
    """The brand a live key speaks for, or None."""
    holder = key_holder(db, digest(api_key))
    return holder.brand_id if holder else None


def latest_revocation(db: Database) -> int:
    row = db.fetch_one("SELECT coalesce(max(revocation), 0) AS latest FROM api_keys")
    return int(row["latest"]) if row else 0


def revoked_since(db: Database, after: int) -> list[tuple[str, int]]:
    """(digest, number) of every revocation numbered past `after`, in order (an index range)."""
    rows = db.fetch_all(
        "SELECT key_sha256, revocation FROM api_keys WHERE revocation > %s ORDER BY revocation",
        (after,),
    )
    return [(row["key_sha256"], int(row["revocation"])) for row in rows]


def record_uses(db: Database, used: Mapping[UUID, datetime]) -> None:
    """Set each key's `last_used_at` to when it was used, never back."""
    if not used:
        return
    db.execute(
        """UPDATE api_keys k SET last_used_at = u.at
           FROM unnest(%s::uuid[], %s::timestamptz[]) AS u(id, at)
           WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)""",
        (list(used), list(used.values())),
    )
