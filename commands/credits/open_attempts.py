"""The steps at a provider, as the settlement process knows them: attempted, with no outcome yet.

A step's credit stays reserved while its provider call may still be a send, even when its
campaign is archived meanwhile (decision record 18). The settlement process opens a row when it
reads a `StepAttempted` and removes it at the step's outcome (sent, failed, withdrawn, or
cancelled: a cancelled attempt was never at the provider); a deferral keeps it, since an answer
lost in transit may still have been a send. A batch's changes are kept in memory in log order, so
that a close reads the steps open at its own position, and written after the ledgers they settle
(a batch applied again after a crash redoes them idempotently). The sweeper reads the rows of
closed campaigns to have those steps reconciled with the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from storage.database import Database


@dataclass(frozen=True)
class OpenAttempt:
    message_key: str
    campaign_id: UUID
    enrollment_id: UUID
    step_id: str
    position: int  # the log position of the step's first open attempt
    attempted_at: datetime


@dataclass(frozen=True)
class _Opened:
    attempt: OpenAttempt
    replaces_stored: bool  # the step was closed earlier in this batch: a stored row no longer counts


_CLOSED = None


class OpenAttempts:
    """The open attempts of the log read so far: the table, with one batch's changes on top.

    Opening and closing touch only memory; the table is asked only where a step's first attempt
    matters (its campaign closed), so the common send costs no query here.
    """

    def __init__(self, recorded: AttemptStore) -> None:
        self.recorded = recorded
        self.changes: dict[str, _Opened | None] = {}  # None: closed in this batch

    def open(self, attempt: OpenAttempt) -> None:
        """A step attempted: open, unless it is open already (a second try keeps the first's place)."""
        key = attempt.message_key
        if key not in self.changes:
            self.changes[key] = _Opened(attempt, replaces_stored=False)
        elif self.changes[key] is _CLOSED:
            self.changes[key] = _Opened(attempt, replaces_stored=True)

    def close(self, message_key: str, where: bool = False) -> OpenAttempt | None:
        """A step's outcome. With `where`, the attempt it closes, if one was open (its first)."""
        touched, change = message_key in self.changes, self.changes.get(message_key)
        self.changes[message_key] = _CLOSED
        if not where or (touched and change is _CLOSED):
            return None
        if change is not None and change.replaces_stored:
            return change.attempt
        stored = self._stored(message_key)
        return stored or (change.attempt if change is not None else None)

    def of_campaign(self, campaign_id: UUID, before: int) -> list[OpenAttempt]:
        """The campaign's attempts open at log position `before`, first attempted before it."""
        found = {a.message_key: a for a in self.recorded.of_campaign(campaign_id, before)}
        for key, change in self.changes.items():
            if change is _CLOSED or (change is not None and change.replaces_stored):
                found.pop(key, None)
            if (
                isinstance(change, _Opened)
                and key not in found
                and change.attempt.campaign_id == campaign_id
                and change.attempt.position < before
            ):
                found[key] = change.attempt
        return list(found.values())

    def save(self) -> None:
        """Write the batch's changes, in one transaction; writing them twice changes nothing."""
        gone = [key for key, change in self.changes.items() if change is None or change.replaces_stored]
        opened = [change.attempt for change in self.changes.values() if change is not None]
        self.recorded.write(gone, opened)
        self.changes.clear()

    def _stored(self, message_key: str) -> OpenAttempt | None:
        return self.recorded.stored(message_key)


class AttemptStore(Protocol):
    """Where the open attempts are kept between batches."""

    def stored(self, message_key: str) -> OpenAttempt | None: ...
    def of_campaign(self, campaign_id: UUID, before: int) -> list[OpenAttempt]: ...
    def write(self, gone: list[str], opened: list[OpenAttempt]) -> None:
        """Remove `gone`, then add `opened` where not present (a present row keeps its place)."""


class AttemptTable:
    """The open attempts in PostgreSQL (table `settlement_open_attempts`, migration 0010)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def stored(self, message_key: str) -> OpenAttempt | None:
        row = self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM settlement_open_attempts WHERE message_key = %s", (message_key,)
        )
        return OpenAttempt(**row) if row else None

    def of_campaign(self, campaign_id: UUID, before: int) -> list[OpenAttempt]:
        rows = self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM settlement_open_attempts WHERE campaign_id = %s AND position < %s",
            (campaign_id, before),
        )
        return [OpenAttempt(**row) for row in rows]

    def write(self, gone: list[str], opened: list[OpenAttempt]) -> None:
        with self.db.transaction() as cur:
            if gone:
                cur.execute(
                    "DELETE FROM settlement_open_attempts WHERE message_key = ANY(%s::text[])", (gone,)
                )
            if opened:
                cur.executemany(
                    f"INSERT INTO settlement_open_attempts ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (message_key) DO NOTHING",
                    [
                        (a.message_key, a.campaign_id, a.enrollment_id, a.step_id, a.position, a.attempted_at)
                        for a in opened
                    ],
                )


class AttemptsInMemory:
    """The open attempts in a dict: for the use cases on the in-memory event store."""

    def __init__(self) -> None:
        self.rows: dict[str, OpenAttempt] = {}

    def stored(self, message_key: str) -> OpenAttempt | None:
        return self.rows.get(message_key)

    def of_campaign(self, campaign_id: UUID, before: int) -> list[OpenAttempt]:
        return [a for a in self.rows.values() if a.campaign_id == campaign_id and a.position < before]

    def write(self, gone: list[str], opened: list[OpenAttempt]) -> None:
        for key in gone:
            self.rows.pop(key, None)
        for attempt in opened:
            self.rows.setdefault(attempt.message_key, attempt)


_COLUMNS = "message_key, campaign_id, enrollment_id, step_id, position, attempted_at"


def held_attempts(db: Database, attempted_before: datetime, limit: int) -> dict[UUID, list[UUID]]:
    """Enrollments, per campaign, with a step that was at a provider when its campaign closed and
    has had no outcome since `attempted_before`: the sweeper has each reconciled with the provider."""
    rows = db.fetch_all(
        """SELECT DISTINCT o.campaign_id, o.enrollment_id FROM settlement_open_attempts o
           JOIN campaign_summaries c ON c.id = o.campaign_id AND c.status IN ('ARCHIVED', 'COMPLETED')
           WHERE o.attempted_at <= %s LIMIT %s""",
        (attempted_before, limit),
    )
    per_campaign: dict[UUID, list[UUID]] = {}
    for row in rows:
        per_campaign.setdefault(row["campaign_id"], []).append(row["enrollment_id"])
    return per_campaign
