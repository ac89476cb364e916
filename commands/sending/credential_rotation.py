"""Use case: re-seal every stored sender credential with the first key of CREDENTIALS_KEY.

Rotating the key is two deploys and this command between them: put the new key first in
CREDENTIALS_KEY (`new,old`: the first seals, every one opens), run `campaign-service keys rotate`,
then drop the old key. Each row is re-sealed on its own with a compare-and-set on the ciphertext
read, so the command can be stopped at any point and run again: a row already sealed with the first
key is left as it is, and a row changed meanwhile (its credentials replaced by a user, sealed with
the first key already) is not overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from cryptography.fernet import InvalidToken

from commands.sending.credentials import CredentialCipher
from storage.database import Database

BATCH = 100


@dataclass
class Rotation:
    total: int = 0
    resealed: int = 0
    current: int = 0  # sealed with the first key already
    unreadable: list[UUID] = field(default_factory=list)  # open with none of the keys

    @property
    def done(self) -> int:
        return self.resealed + self.current + len(self.unreadable)


def reseal_credentials(
    db: Database, cipher: CredentialCipher, progress: Callable[[Rotation], None] = lambda _: None
) -> Rotation:
    """Re-seal, row by row in id order, every sender account's credentials with the first key."""
    total = db.fetch_one("SELECT count(*) AS n FROM sender_accounts WHERE credentials IS NOT NULL")
    rotation = Rotation(total=int(total["n"]) if total else 0)
    after = UUID(int=0)
    while True:
        rows = db.fetch_all(
            """SELECT id, credentials FROM sender_accounts
               WHERE credentials IS NOT NULL AND id > %s ORDER BY id LIMIT %s""",
            (after, BATCH),
        )
        if not rows:
            return rotation
        for row in rows:
            _reseal_one(db, cipher, row["id"], bytes(row["credentials"]), rotation)
        after = rows[-1]["id"]
        progress(rotation)


def _reseal_one(
    db: Database, cipher: CredentialCipher, account_id: UUID, sealed: bytes, rotation: Rotation
) -> None:
    if cipher.sealed_with_first_key(sealed):
        rotation.current += 1
        return
    try:
        resealed = cipher.reseal(sealed)
    except InvalidToken:
        rotation.unreadable.append(account_id)
        return
    with db.transaction() as cur:
        cur.execute(
            "UPDATE sender_accounts SET credentials = %s WHERE id = %s AND credentials = %s",
            (resealed, account_id, sealed),
        )
        changed = cur.rowcount == 1
    # Not changed: someone replaced the credentials meanwhile, sealing them with the first key.
    if changed:
        rotation.resealed += 1
    else:
        rotation.current += 1
