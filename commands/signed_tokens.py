"""Tamper-evident tokens for the links in mail: a payload and its HMAC-SHA256, both in base64url.

Each kind of token (unsubscribe, tracking) signs under a label of its own with the same secret, so
one kind is never taken for another; a forged, altered or foreign token opens as None. The payload
is the token's whole meaning, so the routes that read tokens need no lookup table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is out of reach, and the URL stays short


class SignedTokens:
    """Signs and opens payloads under one secret and label; its repr never shows the secret."""

    def __init__(self, secret: bytes, label: str) -> None:
        if len(secret) < 16:
            raise ValueError(f"a {label} secret needs at least 16 bytes")
        self._secret, self._label = secret, label.encode() + b":"

    def __repr__(self) -> str:
        return f"SignedTokens(label={self._label[:-1].decode()!r}, secret=<hidden>)"

    def sign(self, payload: bytes) -> str:
        return b64(payload) + "." + b64(self._mac(payload))

    def open(self, token: str) -> bytes | None:
        """The payload a token of ours carries; None for anything else."""
        try:
            encoded_payload, encoded_mac = token.split(".")
            payload, mac = unb64(encoded_payload), unb64(encoded_mac)
        except ValueError:
            return None
        return payload if hmac.compare_digest(mac, self._mac(payload)) else None

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, self._label + payload, hashlib.sha256).digest()[:MAC_BYTES]


def b64(data: bytes) -> str:
    """Unpadded base64url: the URL-safe spelling of a token's parts."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """The bytes of unpadded base64url text; ValueError for any other text or spelling."""
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:  # one spelling per token: altered padding bits make it another token
        raise ValueError("not canonical base64url")
    return data
