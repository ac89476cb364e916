"""The event-sourced application holding every aggregate, and saving with retry on version conflicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from domain.errors import NotFound

T = TypeVar("T")

MAX_CONFLICT_RETRIES = 8


class CampaignApplication(Application[UUID]):
    """One event store and one notification log for campaigns, ledgers and enrollments."""

    name = "campaigns"

    def get(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError as missing:
            raise NotFound(str(aggregate_id)) from missing

    def find(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def get_many(self, aggregate_ids: list[UUID]) -> dict[UUID, Any]:
        """Many aggregates in one query (the send path loads a batch of enrollments at once).

        Reads the PostgreSQL recorder's events table directly, ordered like `select_events`;
        with another recorder it falls back to one `get` per aggregate.
        """
        recorder = self.recorder
        if not isinstance(recorder, PostgresAggregateRecorder) or not aggregate_ids:
            return {i: a for i in aggregate_ids if (a := self.find(i)) is not None}
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(statement, [list(aggregate_ids)])
            rows = cur.fetchall()
        events: dict[UUID, list[Any]] = {}
        for row in rows:
            stored = StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
            )
            events.setdefault(row["originator_id"], []).append(self.mapper.to_domain_event(stored))
        return {aggregate_id: project_aggregate(None, stream) for aggregate_id, stream in events.items()}

    def versions(self, aggregate_ids: list[UUID]) -> dict[UUID, int] | None:
        """The stored version of each aggregate in one query; None with a recorder other than PostgreSQL.

        Cheaper than loading them: a caller holding aggregates can tell which ones changed.
        """
        recorder = self.recorder
        if not isinstance(recorder, PostgresAggregateRecorder):
            return None
        if not aggregate_ids:
            return {}
        statement = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(statement, [list(aggregate_ids)])
            return {row["originator_id"]: row["version"] for row in cur.fetchall()}

    def save_all(self, aggregates: Sequence[Any]) -> int | None:
        """Save in one atomic write; return the last notification id written."""
        recordings = self.save(*aggregates)
        return recordings[-1].notification.id if recordings else None


def retry_on_conflict(decide: Callable[[], T], attempts: int = MAX_CONFLICT_RETRIES) -> T:
    """Run load-decide-save again when another writer saved the same aggregate first.

    `decide` must load fresh state each time, so the rules are re-checked against it.
    """
    for attempt in range(attempts):
        try:
            return decide()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
