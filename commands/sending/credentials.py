"""Sender account credentials: checked per provider, sealed with Fernet, opened only by adapters.

Credentials are write-only: they come in with a new sender account, are encrypted with the key
from `CREDENTIALS_KEY` and stored as ciphertext; no response, log line, event or repr carries
them, and only `decrypt_credentials` (for the Gmail and Twilio adapters) opens them. The embedded
default keeps a generated key in `<data_dir>/credentials.key` (mode 0600) so a restart can still
decrypt; against an external PostgreSQL with no key configured nothing is stored at all, because a
key invented per process would be lost with it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from domain.errors import Unavailable
from storage.database import Database

REQUIRED_KEYS = {
    "gmail": ("refresh_token", "client_id", "client_secret"),
    "twilio": ("account_sid", "auth_token"),
}
OPTIONAL_KEYS = {"gmail": ("token_uri",), "twilio": ("messaging_service_sid",)}
KEY_FILE = "credentials.key"


class CredentialsUnavailable(Unavailable):
    """No encryption key is configured, so credentials cannot be stored (or read)."""


class CredentialCipher:
    """Seals credentials with the first of its Fernet keys and opens them with any (MultiFernet),
    so a new key can be put first while credentials sealed with the old one still open; its repr
    never shows a key."""

    def __init__(self, key: str | bytes) -> None:
        text = key.decode() if isinstance(key, bytes) else key
        keys = [part.strip() for part in text.split(",") if part.strip()]
        try:
            self._primary = Fernet(keys[0]) if keys else Fernet(text)
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as bad:
            raise ValueError(
                "CREDENTIALS_KEY is not a Fernet key, nor Fernet keys separated by commas (each 32 bytes, "
                "url-safe base64 encoded; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from bad

    def __repr__(self) -> str:
        return "CredentialCipher(key=<hidden>)"

    def seal(self, credentials: Mapping[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(credentials), sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, str]:
        credentials: dict[str, str] = json.loads(self._fernet.decrypt(sealed))
        return credentials

    def seal_bytes(self, secret: bytes) -> bytes:
        """A secret sealed as its Fernet token's own bytes, not the token's base64 text: 105 bytes
        for a 32-byte key, where the key as JSON in a token's text took 164."""
        return base64.urlsafe_b64decode(self._fernet.encrypt(secret))

    def open_bytes(self, sealed: bytes) -> bytes:
        """The secret `seal_bytes` sealed (InvalidToken if no key opens it)."""
        return self._fernet.decrypt(base64.urlsafe_b64encode(sealed))

    def sealed_with_first_key(self, sealed: bytes) -> bool:
        try:
            self._primary.decrypt(_token(sealed))
        except InvalidToken:
            return False
        return True

    def reseal(self, sealed: bytes) -> bytes:
        """The same credentials or secret sealed with the first key, in the form they were given
        (a token's text or its bytes; InvalidToken if no key opens them)."""
        resealed = self._fernet.rotate(_token(sealed))
        return base64.urlsafe_b64decode(resealed) if _is_bytes(sealed) else resealed


def _is_bytes(sealed: bytes) -> bool:
    """Whether a sealed value is a Fernet token's bytes (its version byte, 0x80, starts no text)."""
    return sealed[:1] == b"\x80"


def _token(sealed: bytes) -> bytes:
    """A Fernet token's text, from its text or its bytes."""
    return base64.urlsafe_b64encode(sealed) if _is_bytes(sealed) else sealed


def credential_problems(provider: str, credentials: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with the credentials given for a provider; names keys, never values."""
    if provider not in REQUIRED_KEYS:
        return []  # the sandbox needs none; whatever it is given is dropped, not stored
    given = dict(credentials or {})
    required, optional = REQUIRED_KEYS[provider], OPTIONAL_KEYS[provider]
    problems = []
    missing = [key for key in required if key not in given]
    if missing:
        problems.append(f"{provider} credentials need {', '.join(required)}; missing: {', '.join(missing)}")
    unknown = sorted(key for key in given if key not in (*required, *optional))
    if unknown:
        allowed = ", ".join((*required, *optional))
        problems.append(f"unknown {provider} credential keys: {', '.join(unknown)} (allowed: {allowed})")
    empty = sorted(k for k, v in given.items() if k not in unknown and not (isinstance(v, str) and v.strip()))
    if empty:
        problems.append(f"credential values must be non-empty strings: {', '.join(empty)}")
    return problems


def load_or_create_key(folder: Path) -> str:
    """The key kept in `folder/credentials.key`, generated (0600) the first time."""
    path = folder / KEY_FILE
    folder.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(handle, "w") as file:
        file.write(Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


def cipher_for(key: str | None, key_folder: Path | None) -> CredentialCipher | None:
    """The configured key, else the embedded default's key file, else no cipher at all."""
    if key:
        return CredentialCipher(key)
    if key_folder is not None:
        return CredentialCipher(load_or_create_key(key_folder))
    return None


def require_cipher(cipher: CredentialCipher | None) -> CredentialCipher:
    if cipher is None:
        raise CredentialsUnavailable(
            "credentials cannot be stored: set CREDENTIALS_KEY (a Fernet key) for this service; "
            "with an external DATABASE_URL no key is generated, since it would be lost on restart"
        )
    return cipher


def decrypt_credentials(db: Database, cipher: CredentialCipher | None, account_id: UUID) -> dict[str, str]:
    """The credentials of one sender account, for its provider adapter; {} when it has none."""
    row = db.fetch_one("SELECT credentials FROM sender_accounts WHERE id = %s", (account_id,))
    if row is None or row["credentials"] is None:
        return {}
    try:
        return require_cipher(cipher).open(bytes(row["credentials"]))
    except InvalidToken as wrong_key:
        raise CredentialsUnavailable(
            f"the credentials of sender account {account_id} do not open with the configured key"
        ) from wrong_key
