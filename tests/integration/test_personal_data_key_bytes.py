"""A person's key is stored sealed as its Fernet token's bytes (commands/personal_data/sealing.py;
decision record 35): 105 bytes where the key as JSON in the token's text took 164. Keys stored the
earlier way still open, and a key rotation re-seals both, each in the form it was stored in."""

from __future__ import annotations

import base64
import os
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from commands.personal_data.sealing import PersonalDataSeal
from commands.sending.credential_rotation import reseal_credentials
from commands.sending.credentials import CredentialCipher
from storage.database import Database


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    yield database
    database.close()


def _stored(db: Database, key_id) -> bytes:
    row = db.fetch_one("SELECT sealed_key FROM personal_data_keys WHERE key_id = %s", (key_id,))
    assert row is not None
    return bytes(row["sealed_key"])


def _store_as_before(db: Database, cipher: CredentialCipher, key: bytes) -> object:
    """A key stored as every key was before: the token's text of `{"key": <base64>}`."""
    key_id = uuid4()
    db.execute(
        "INSERT INTO personal_data_keys (key_id, brand_id, kind, sealed_key) VALUES (%s, %s, 'contact', %s)",
        (key_id, uuid4(), cipher.seal({"key": base64.urlsafe_b64encode(key).decode()})),
    )
    return key_id


def test_a_new_key_is_stored_as_its_tokens_bytes_and_opens(db):
    cipher = CredentialCipher(Fernet.generate_key().decode())
    seal, key_id = PersonalDataSeal(db, cipher), uuid4()
    seal.ensure_keys([(key_id, uuid4(), "contact")])
    sealed = seal.seal(key_id, "ann@example.com")

    stored = _stored(db, key_id)
    assert stored[:1] == b"\x80" and len(stored) == 105
    assert len(cipher.open_bytes(stored)) == 32
    assert PersonalDataSeal(db, cipher).open(sealed) == "ann@example.com"  # a process that read it
    with pytest.raises(InvalidToken):
        CredentialCipher(Fernet.generate_key().decode()).open_bytes(stored)


def _sealed_by_hand(key_id, key: bytes, text: str) -> str:
    """A value sealed with the key as the seal seals one: `pd1:<key id>:<nonce + AES-GCM, base64>`."""
    nonce = os.urandom(12)
    raw = nonce + AESGCM(key).encrypt(nonce, text.encode(), key_id.bytes)
    return f"pd1:{key_id}:{base64.urlsafe_b64encode(raw).decode()}"


def test_a_key_stored_before_still_opens_what_it_sealed(db):
    cipher = CredentialCipher(Fernet.generate_key().decode())
    key = os.urandom(32)
    key_id = _store_as_before(db, cipher, key)
    assert _stored(db, key_id)[:1] == b"g"  # the token's text
    assert (
        PersonalDataSeal(db, cipher).open(_sealed_by_hand(key_id, key, "ann@example.com"))
        == "ann@example.com"
    )


def test_a_rotation_reseals_keys_of_both_forms_each_in_its_own(db):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    cipher = CredentialCipher(old)
    key_before, key_now = os.urandom(32), uuid4()
    before = _store_as_before(db, cipher, key_before)
    sealing = PersonalDataSeal(db, cipher)
    sealing.ensure_keys([(key_now, uuid4(), "contact")])
    values = {
        before: _sealed_by_hand(before, key_before, "ann@example.com"),
        key_now: sealing.seal(key_now, "+14155550100"),
    }

    rotation = reseal_credentials(db, CredentialCipher(f"{new},{old}"))

    assert rotation.resealed == 2 and not rotation.unreadable
    assert _stored(db, before)[:1] == b"g" and _stored(db, key_now)[:1] == b"\x80"
    alone = PersonalDataSeal(db, CredentialCipher(new))  # the old key gone
    assert [alone.open(values[before]), alone.open(values[key_now])] == ["ann@example.com", "+14155550100"]
    again = reseal_credentials(db, CredentialCipher(f"{new},{old}"))
    assert again.resealed == 0
