"""Personal data sealed per person (crypto-shredding): the keys, the sealed values, the keyed hashes.

Each contact (and each address consent, for an address that may be nobody's contact) has a key of
its own in `personal_data_keys`, itself sealed with `CREDENTIALS_KEY` (the sender credentials'
cipher, commands/sending/credentials.py). A value sealed with it is the text
`pd1:<key id>:<nonce + AES-GCM ciphertext, url-safe base64>`, the key id bound in as associated
data; erasing the person NULLs the key, after which every value sealed with it opens as `erased`,
for good. Where the service must match on an address (suppressions, the consent audit) it uses a
keyed hash instead: HMAC-SHA256 with a hashing key of the brand's own, so one brand's hash never
matches another's contact. Keys are read for a batch in one query (`load`) and kept for
`KEY_TTL_S` seconds, so a process that did not erase a person stops opening their data within that
time; the process that erases forgets them at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Iterable
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from commands.sending.credentials import CredentialCipher
from storage.database import Database
from storage.event_json import ERASED, SEALED_PREFIX

PREFIX = SEALED_PREFIX
KEY_TTL_S = 30.0
MOST_CACHED = 100_000  # keys a process keeps at most (32 bytes each, plus the dict's own)
_NONCE = 12
# A key sealed as its Fernet token's bytes starts with the token's version byte; one sealed before
# (decision record 35) is the token's base64 text of `{"key": <the key, base64>}`, starting `g`.
SEALED_BYTES = b"\x80"


class KeyNotOpened(RuntimeError):
    """A person's key is sealed under another CREDENTIALS_KEY than this process's (a role
    started with the wrong key): said in words, where Fernet's own error says nothing."""


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_key_id(value: str) -> UUID:
    """The id of the key a sealed value was sealed with."""
    return UUID(value[len(PREFIX) : len(PREFIX) + 36])


def hash_key_id(brand_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/personal-data/address-hash/{brand_id}")


class PersonalDataSeal:
    """Seals and opens personal data with per-person keys, and hashes addresses per brand."""

    def __init__(self, db: Database, cipher: CredentialCipher, ttl_s: float = KEY_TTL_S) -> None:
        self.db, self.cipher, self.ttl_s = db, cipher, ttl_s
        self._keys: dict[UUID, tuple[bytes | None, float]] = {}  # None: erased
        self._hash_keys: dict[UUID, bytes] = {}  # a brand's hashing key is never erased

    def __repr__(self) -> str:
        return "PersonalDataSeal(<keys hidden>)"

    # Keyed hashes -------------------------------------------------------------------------------

    def address_hash(self, brand_id: UUID, address: str) -> str:
        """The brand's keyed hash of a normalised address (hex)."""
        key = self._hash_keys.get(brand_id)
        if key is None:
            key = self._hash_key(brand_id)
        return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()

    def _hash_key(self, brand_id: UUID) -> bytes:
        key_id = hash_key_id(brand_id)
        self._create([(key_id, brand_id, "hash")])
        row = self.db.fetch_one("SELECT sealed_key FROM personal_data_keys WHERE key_id = %s", (key_id,))
        if row is None or row["sealed_key"] is None:
            raise RuntimeError(f"the address-hashing key of brand {brand_id} is missing")
        key = self._opened(key_id, bytes(row["sealed_key"]))
        self._hash_keys[brand_id] = key
        return key

    # Keys ---------------------------------------------------------------------------------------

    def ensure_keys(self, wanted: Iterable[tuple[UUID, UUID, str]]) -> None:
        """Make sure each (key id, brand, kind) has a key (or its erasure) known here: one insert of
        the missing ones (the keys it made are known at once) and one read of those another writer
        made first, for the whole batch."""
        missing = {key_id: (key_id, brand, kind) for key_id, brand, kind in wanted if not self._fresh(key_id)}
        if missing:
            made = self._create(list(missing.values()))
            self.load([key_id for key_id in missing if key_id not in made])

    def load(self, key_ids: Iterable[UUID]) -> None:
        """Read the keys not already known here (erased ones are remembered as erased), in one query."""
        wanted = [key_id for key_id in set(key_ids) if not self._fresh(key_id)]
        if not wanted:
            return
        rows = self.db.fetch_all(
            "SELECT key_id, sealed_key FROM personal_data_keys WHERE key_id = ANY(%s)", (wanted,)
        )
        now = time.monotonic()
        if len(self._keys) + len(rows) > MOST_CACHED:  # forget the stale ones, else all
            self._keys = {k: v for k, v in self._keys.items() if now - v[1] < self.ttl_s}
            if len(self._keys) + len(rows) > MOST_CACHED:
                self._keys = {}
        for row in rows:
            sealed = row["sealed_key"]
            key = None if sealed is None else self._opened(row["key_id"], bytes(sealed))
            self._keys[row["key_id"]] = (key, now)

    def _opened(self, key_id: UUID, sealed: bytes) -> bytes:
        try:
            if sealed[:1] == SEALED_BYTES:  # the token's bytes, sealing the key itself
                return self.cipher.open_bytes(sealed)
            return base64.urlsafe_b64decode(self.cipher.open(sealed)["key"])  # before: JSON in a token's text
        except InvalidToken:
            raise KeyNotOpened(
                f"personal-data key {key_id} does not open with this process's CREDENTIALS_KEY: "
                "every role must run with the key (or, after `keys rotate`, a key list) that sealed it"
            ) from None

    def _fresh(self, key_id: UUID) -> bool:
        known = self._keys.get(key_id)
        return known is not None and time.monotonic() - known[1] < self.ttl_s

    def _create(self, entries: list[tuple[UUID, UUID, str]]) -> set[UUID]:
        """Insert a key for each entry that has none (an existing or erased one is kept as it is), in
        one statement; the ids of the keys it made, each remembered here."""
        keys = {key_id: os.urandom(32) for key_id, _, _ in entries}
        sealed = [self.cipher.seal_bytes(keys[key_id]) for key_id, _, _ in entries]
        rows = self.db.fetch_all(
            """INSERT INTO personal_data_keys (key_id, brand_id, kind, sealed_key)
               SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::bytea[])
               ON CONFLICT (key_id) DO NOTHING RETURNING key_id""",
            ([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries], sealed),
        )
        made = {row["key_id"] for row in rows}
        now = time.monotonic()
        for key_id in made:
            self._keys[key_id] = (keys[key_id], now)
        return made

    def erase(self, brand_id: UUID, key_ids: dict[UUID, str], now: datetime) -> None:
        """Destroy these keys (key id -> kind) of the brand for good, making a row for each that had
        none, so no later write can mint a fresh key under the same id. Idempotent."""
        with self.db.transaction() as cur:
            cur.executemany(
                """INSERT INTO personal_data_keys (key_id, brand_id, kind, sealed_key, erased_at)
                   VALUES (%s, %s, %s, NULL, %s)
                   ON CONFLICT (key_id) DO UPDATE SET sealed_key = NULL,
                       erased_at = COALESCE(personal_data_keys.erased_at, EXCLUDED.erased_at)
                   WHERE personal_data_keys.brand_id = EXCLUDED.brand_id""",
                [(key_id, brand_id, kind, now) for key_id, kind in key_ids.items()],
            )
        for key_id in key_ids:
            self._keys[key_id] = (None, time.monotonic())

    def erased(self, key_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these keys are erased (read now, not from what this process remembers)."""
        wanted = list(set(key_ids))
        if not wanted:
            return set()
        rows = self.db.fetch_all(
            "SELECT key_id FROM personal_data_keys WHERE key_id = ANY(%s) AND sealed_key IS NULL", (wanted,)
        )
        return {row["key_id"] for row in rows}

    # Values -------------------------------------------------------------------------------------

    def seal(self, key_id: UUID, value: str) -> str:
        """The value sealed with the key (which `ensure_keys` made known); an erased key seals
        nothing: the value is dropped and `erased` stored instead."""
        key = self._key(key_id)
        if key is None:
            return ERASED
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(key).encrypt(nonce, value.encode(), key_id.bytes)
        return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str) -> str:
        """The value a sealed text holds, or `erased` when its key was destroyed."""
        key_id = sealed_key_id(value)
        key = self._key(key_id)
        if key is None:
            return ERASED
        raw = base64.urlsafe_b64decode(value[len(PREFIX) + 37 :])
        try:
            return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], key_id.bytes).decode()
        except InvalidTag as wrong:
            raise ValueError(f"a value sealed with key {key_id} does not open with it") from wrong

    def _key(self, key_id: UUID) -> bytes | None:
        if not self._fresh(key_id):
            self.load([key_id])
        known = self._keys.get(key_id)
        if known is None:
            raise LookupError(f"no personal-data key {key_id}")
        return known[0]
