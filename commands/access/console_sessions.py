"""The browser console's sessions: opened with a brand's API key, ended by signing out, by expiry,
or by revoking the key they were opened with.

`open_session` looks the key up as the request gate does (`key_lookup.key_holder`: live keys
only) and stores a new session under the sha256 of a random token that only the browser's cookie
holds, with a second random token for the session's forms (CSRF). `live_session` answers for a
token whose session has not ended, has not expired and whose key is still live: the key's
revocation ends its sessions in the same statement that revokes it, with no extra bookkeeping.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from commands.access.api_keys import digest
from commands.access.key_lookup import key_holder
from storage.database import Database

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class ConsoleSession:
    brand_id: UUID
    api_key_id: UUID
    csrf_token: str


@dataclass(frozen=True)
class OpenedSession:
    token: str  # for the cookie only: never stored
    session: ConsoleSession


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database, api_key: str, now: datetime) -> OpenedSession | None:
    """A new session for a live key, or None for a key that is unknown or revoked."""
    holder = key_holder(db, digest(api_key.strip()))
    if holder is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.execute(
        """INSERT INTO console_sessions (token_sha256, api_key_id, brand_id, csrf_token, created_at, expires_at)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (_token_digest(token), holder.key_id, holder.brand_id, csrf, now, now + SESSION_LIFETIME),
    )
    return OpenedSession(token, ConsoleSession(holder.brand_id, holder.key_id, csrf))


def live_session(db: Database, token: str, now: datetime) -> ConsoleSession | None:
    """The session of this cookie token, while it is live and its key is not revoked."""
    row = db.fetch_one(
        """SELECT s.brand_id, s.api_key_id, s.csrf_token FROM console_sessions s
           JOIN api_keys k ON k.id = s.api_key_id
           WHERE s.token_sha256 = %s AND s.ended_at IS NULL AND s.expires_at > %s
             AND k.revoked_at IS NULL""",
        (_token_digest(token), now),
    )
    return ConsoleSession(row["brand_id"], row["api_key_id"], row["csrf_token"]) if row else None


def end_session(db: Database, token: str, now: datetime) -> None:
    """Sign out: the session is never live again."""
    db.execute(
        "UPDATE console_sessions SET ended_at = %s WHERE token_sha256 = %s AND ended_at IS NULL",
        (now, _token_digest(token)),
    )
