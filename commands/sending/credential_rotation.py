"""Use case: re-seal every stored sender credential, and every personal-data key
(commands/personal_data/sealing.py), with the first key of CREDENTIALS_KEY.

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
from psycopg.sql import SQL, Identifier

from commands.sending.credentials import CredentialCipher
from storage.database import Database

BATCH = 100


@dataclass(frozen=True)
class SealedColumn:
    """A table's column of values sealed with CREDENTIALS_KEY, and its key column."""

    table: str
    id: str
    sealed: str


SENDER_CREDENTIALS = SealedColumn("sender_accounts", "id", "credentials")
PERSONAL_DATA_KEYS = SealedColumn("personal_data_keys", "key_id", "sealed_key")
SEALED_COLUMNS = (SENDER_CREDENTIALS, PERSONAL_DATA_KEYS)


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
    db: Database,
    cipher: CredentialCipher,
    progress: Callable[[Rotation], None] = lambda _: None,
    columns: tuple[SealedColumn, ...] = SEALED_COLUMNS,
) -> Rotation:
    """Re-seal, row by row in id order, every sealed value of these columns with the first key."""
    rotation = Rotation()
    for column in columns:
        names = {
            "table": Identifier(column.table),
            "id": Identifier(column.id),
            "sealed": Identifier(column.sealed),
        }
        total = db.fetch_one(
            SQL("SELECT count(*) AS n FROM {table} WHERE {sealed} IS NOT NULL").format(**names)
        )
        rotation.total += int(total["n"]) if total else 0
        after = UUID(int=0)
        while True:
            rows = db.fetch_all(
                SQL(
                    """SELECT {id} AS id, {sealed} AS sealed FROM {table}
                       WHERE {sealed} IS NOT NULL AND {id} > %s ORDER BY {id} LIMIT %s"""
                ).format(**names),
                (after, BATCH),
            )
            if not rows:
                break
            for row in rows:
                _reseal_one(db, cipher, column, row["id"], bytes(row["sealed"]), rotation)
            after = rows[-1]["id"]
            progress(rotation)
    return rotation


def _reseal_one(
    db: Database,
    cipher: CredentialCipher,
    column: SealedColumn,
    row_id: UUID,
    sealed: bytes,
    rotation: Rotation,
) -> None:
    if cipher.sealed_with_first_key(sealed):
        rotation.current += 1
        return
    try:
        resealed = cipher.reseal(sealed)
    except InvalidToken:
        rotation.unreadable.append(row_id)
        return
    with db.transaction() as cur:
        cur.execute(
            SQL("UPDATE {table} SET {sealed} = %s WHERE {id} = %s AND {sealed} = %s").format(
                table=Identifier(column.table), sealed=Identifier(column.sealed), id=Identifier(column.id)
            ),
            (resealed, row_id, sealed),
        )
        changed = cur.rowcount == 1
    # Not changed: someone replaced the value meanwhile (sealing it with the first key), or erased it.
    if changed:
        rotation.resealed += 1
    else:
        rotation.current += 1
