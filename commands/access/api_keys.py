"""A brand's API keys: issued, listed and revoked, each change an event on the brand's ApiKeys.

A key is `cs_` and 43 random URL-safe characters (256 bits); only its sha256 is stored, in the
`api_keys` table, written in the same transaction as the `ApiKeyIssued` event (the recorder's
`alongside` rows), and it is shown once, to whoever issued it. Its first 11 characters are its
visible prefix, so a list tells keys apart without showing them. Revoking writes `ApiKeyRevoked`
and gives the row the next revocation number in the same transaction: API processes poll for new
numbers and forget the key at once (commands/access/key_lookup.py, decision record 20).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from commands.application import CampaignApplication, retry_on_conflict
from domain.api_keys import ApiKeyEntry, ApiKeys
from domain.errors import NotFound
from storage.database import Database
from storage.paging import after, cursor_params, page

KEY_PREFIX = "cs_"
VISIBLE = 11  # "cs_" and 8 characters: enough to tell keys apart, far too few to guess the rest
INSERT_KEY = """INSERT INTO api_keys (id, brand_id, name, prefix, key_sha256, created_at)
                VALUES (%s, %s, %s, %s, %s, %s)"""
REVOKE_KEY = """UPDATE api_keys SET revoked_at = %s, revocation = nextval('api_key_revocations')
                WHERE id = %s AND brand_id = %s AND revoked_at IS NULL"""


@dataclass(frozen=True)
class IssuedKey:
    id: UUID
    name: str
    prefix: str
    api_key: str  # the secret: shown to its issuer once, never stored
    created_at: datetime


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_key(name: str, now: datetime) -> IssuedKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return IssuedKey(uuid4(), name.strip(), secret[:VISIBLE], secret, now)


def key_row(brand_id: UUID, key: IssuedKey) -> tuple[str, tuple[Any, ...]]:
    """The statement that stores the key's digest (never the key), for `alongside`."""
    return INSERT_KEY, (key.id, brand_id, key.name, key.prefix, digest(key.api_key), key.created_at)


def api_keys_of(store: CampaignApplication, db: Database, brand_id: UUID, now: datetime) -> ApiKeys:
    """The brand's ApiKeys; opened, carrying over the keys it had before keys were events, when it
    has none yet (NotFound for a brand that does not exist)."""
    found = store.find(ApiKeys.create_id(brand_id))
    if isinstance(found, ApiKeys):
        return found
    if db.fetch_one("SELECT 1 FROM brands WHERE id = %s", (brand_id,)) is None:
        raise NotFound(f"brand {brand_id}")
    rows = db.fetch_all(
        """SELECT id, name, prefix FROM api_keys WHERE brand_id = %s AND revoked_at IS NULL
           ORDER BY created_at, id""",
        (brand_id,),
    )
    return ApiKeys.open(brand_id, now, [ApiKeyEntry(r["id"], r["name"], r["prefix"]) for r in rows])


def issue_api_key(
    store: CampaignApplication, db: Database, brand_id: UUID, name: str, issued_by: str, now: datetime
) -> IssuedKey:
    """A new key for the brand: its event and its digest's row in one write."""

    def decide() -> IssuedKey:
        keys = api_keys_of(store, db, brand_id, now)
        key = new_key(name, now)
        keys.issue(key.id, key.name, key.prefix, issued_by, now)
        store.save(keys, alongside=[key_row(brand_id, key)])
        return key

    return retry_on_conflict(decide)


def revoke_api_key(
    store: CampaignApplication, db: Database, brand_id: UUID, key_id: UUID, revoked_by: str, now: datetime
) -> None:
    """Revoke one of the brand's keys: NotFound for a key it does not have, LastApiKey (409) for
    its last one."""

    def decide() -> None:
        keys = api_keys_of(store, db, brand_id, now)
        keys.revoke(key_id, revoked_by, now)
        store.save(keys, alongside=[(REVOKE_KEY, (now, key_id, brand_id))])

    retry_on_conflict(decide)


def api_keys(
    db: Database, brand_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's live keys, oldest first, without any secret."""
    rows = db.fetch_all(
        f"""SELECT id, name, prefix, created_at, last_used_at FROM api_keys
            WHERE brand_id = %(brand)s AND revoked_at IS NULL AND {after()}
            ORDER BY created_at, id LIMIT %(limit)s""",
        {"brand": brand_id, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)
