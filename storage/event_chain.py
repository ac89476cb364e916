"""Checks the event store's per-aggregate hash chain (written by the trigger of migrations 0003 and 0008).

Each stored row's link is sha256(previous link of that aggregate || id || 0x00 || version || 0x00
|| topic || 0x00 || state). Recomputing the links of an aggregate from its stored rows and
comparing them with the stored ones finds a row edited after it was written, a row deleted, a row
inserted with the trigger disabled, and a gap in the versions. Whoever can rewrite both tables
can forge a consistent chain; publishing the audit's chain heads elsewhere closes that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class ChainBreak:
    """The first row of an aggregate whose stored history disagrees with its chain."""

    aggregate_id: UUID
    version: int
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = f"log position {self.position}" if self.position is not None else "a deleted row"
        return f"stored event {self.aggregate_id} v{self.version} ({where}): {self.problem}"


def chain_link(previous: bytes | None, aggregate_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The link the trigger writes for one stored row (storage/migrations/0003_ledger_chain.sql)."""
    digest = hashlib.sha256(previous or b"")
    digest.update(f"{aggregate_id}\x00{version}\x00{topic}\x00".encode())
    digest.update(state)
    return digest.digest()


def first_break(
    rows: Iterable[tuple[int | None, UUID, int, str | None, bytes | None, bytes | None]],
) -> ChainBreak | None:
    """The first break among rows of `storage.stored_events.aggregate_rows` (sorted by aggregate,
    then version), or None when every aggregate's chain holds."""
    current: UUID | None = None
    previous: bytes | None = None
    expected_version = 1
    for position, aggregate_id, version, topic, state, stored_link in rows:
        if aggregate_id != current:
            current, previous, expected_version = aggregate_id, None, 1
        if position is None:
            return ChainBreak(aggregate_id, version, None, "the event was deleted from the store")
        if version != expected_version:
            return ChainBreak(aggregate_id, version, position, f"version {expected_version} is missing")
        if stored_link is None:
            return ChainBreak(aggregate_id, version, position, "the row was stored outside the hash chain")
        link = chain_link(previous, aggregate_id, version, topic or "", state or b"")
        if link != bytes(stored_link):
            return ChainBreak(aggregate_id, version, position, "the row was changed after it was stored")
        previous, expected_version = link, version + 1
    return None
