"""Signed unsubscribe tokens: who asked to stop (brand, campaign, contact, address), tamper-evident.

Every email carries `List-Unsubscribe: <PUBLIC_BASE_URL/u/{token}>` (RFC 8058). The token is the
request itself, signed with HMAC-SHA256 (commands/signed_tokens.py), so the unsubscribe route
needs no lookup table and a forged or altered token is simply not one of ours (`read` answers None). The secret is
`UNSUBSCRIBE_SECRET`; else one derived from `CREDENTIALS_KEY`; else, embedded only, a key kept in
`<data_dir>/unsubscribe.key` (0600), so links in mail already sent keep working after a restart.
Tracking tokens (commands/tracking/tracking_tokens.py) are signed with the same secret under
another label, so neither kind of token is ever taken for the other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from commands.signed_tokens import SignedTokens

KEY_FILE = "unsubscribe.key"


@dataclass(frozen=True)
class UnsubscribeRequest:
    brand_id: UUID
    campaign_id: UUID
    contact_id: UUID
    address: str


class UnsubscribeTokens:
    """Makes and reads tokens with one secret; its repr never shows the secret."""

    def __init__(self, secret: bytes) -> None:
        self._signed = SignedTokens(secret, "unsubscribe")

    def __repr__(self) -> str:
        return "UnsubscribeTokens(secret=<hidden>)"

    def token(self, request: UnsubscribeRequest) -> str:
        ids = request.brand_id.bytes + request.campaign_id.bytes + request.contact_id.bytes
        return self._signed.sign(ids + request.address.encode())

    def read(self, token: str) -> UnsubscribeRequest | None:
        """The request a token of ours carries; None for anything else (forged, altered, garbage)."""
        payload = self._signed.open(token)
        if payload is None or len(payload) <= 48:
            return None
        try:
            address = payload[48:].decode()
        except UnicodeDecodeError:
            return None
        ids = [UUID(bytes=payload[i : i + 16]) for i in (0, 16, 32)]
        return UnsubscribeRequest(ids[0], ids[1], ids[2], address)


def tokens_for(
    secret: str | None, credentials_key: str | None, key_folder: Path | None
) -> UnsubscribeTokens | None:
    """The configured secret, else one derived from the credentials key, else the embedded key file."""
    key = signing_secret(secret, credentials_key, key_folder)
    return UnsubscribeTokens(key) if key is not None else None


def signing_secret(secret: str | None, credentials_key: str | None, key_folder: Path | None) -> bytes | None:
    """The secret links in mail are signed with (unsubscribe and tracking); None when there is none."""
    if secret:
        return secret.encode()
    if credentials_key:
        derived = hmac.new(credentials_key.encode(), b"campaign-service unsubscribe tokens", hashlib.sha256)
        return derived.digest()
    if key_folder is not None:
        return _load_or_create(key_folder / KEY_FILE)
    return None


def _load_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(handle, "w") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip().encode()
