"""The event store's PostgreSQL recorder, with the library's two hot statements made cheaper.

The library's recorder inserts a batch of stored events as one array of a composite type, which
psycopg dumps as text field by field in Python, and reads the notification log into dict rows.
This subclass inserts the same rows as four typed arrays sent in binary (the C dumpers do the
work) and reads the log into tuples; the table lock that keeps notification ids in commit order,
the NOTIFY and the returned ids are the library's own, so what is stored and read is unchanged.
It is chosen by the library's APPLICATION_RECORDER_TOPIC setting (storage/database.py). A save may
also hand it plain rows to write in the same transaction as its events (`alongside`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import InterfaceError, OperationalError
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

LogRow = tuple[int, UUID, int, str, bytes]  # notification id, originator id and version, topic, state


class CampaignEventRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        self.insert_events_statement = SQL(
            """INSERT INTO {table} (originator_id, originator_version, topic, state)
               SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])
               RETURNING notification_id"""
        ).format(table=table)
        select = """SELECT notification_id, originator_id, originator_version, topic, state FROM {table}
                     WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s) {having}
                     ORDER BY notification_id LIMIT %s"""
        self._select_after = SQL(select).format(table=table, having=SQL(""))
        # Only the rows whose stored bytes hold one of the needles: a search in the bytes, with no
        # JSON parsed in PostgreSQL (parsing every dispatch for every channel's relay was a fifth of
        # PostgreSQL's CPU on long runs), so a row jsonb could not hold is found like any other. A
        # compacted state (storage/compact_states.py) hides its bytes: it is always handed over; a
        # headed one (an enrolment) holds what is searched for in its plain head.
        self._select_containing = SQL(select).format(
            table=table,
            having=SQL(
                """AND (substring(state FROM 1 FOR 1) = '\\x01'::bytea
                     OR EXISTS (SELECT FROM unnest(%s::bytea[]) AS n(needle)
                                WHERE position(needle IN state) > 0))"""
            ),
        )

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        # Plain rows a use case hands in as `app.save(..., alongside=[(sql, params), ...])`: rows
        # that must exist exactly when its events do (an API key's digest beside `ApiKeyIssued`).
        # They run under the table lock, so a number they take from a sequence is in commit order
        # (API processes poll revocation numbers and must never see a later one before an earlier);
        # a failing statement fails the save, events and all.
        for statement, params in kwargs.get("alongside", ()):
            curs.execute(statement, params)
        curs.execute(
            self.insert_events_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
            prepare=True,
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's answer; the followers' own question (after a position, up to a head, some
        topics) is read into tuples, every other goes to the library."""
        if inclusive_of_start or start is None or stop is None or not topics:
            notes: Sequence[Notification] = super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
            return notes
        return self._notes(self._select_after, (start, stop, list(topics), limit))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_rows(
        self, start: int, stop: int, topics: Sequence[str], limit: int, needles: Sequence[bytes] = ()
    ) -> list[LogRow]:
        """The followers' read as plain tuples (no Notification built for a row the caller decodes
        at once, storage/event_decoding.py); with `needles` (byte strings) only the rows whose
        stored state holds one of them: a superset the caller narrows by decoding, so what a
        follower does not want is not sent or decoded."""
        if needles:
            return self._rows(self._select_containing, (start, stop, list(topics), list(needles), limit))
        return self._rows(self._select_after, (start, stop, list(topics), limit))

    def _notes(self, statement: Any, params: Sequence[Any]) -> list[Notification]:
        return [
            Notification(
                id=position, originator_id=aggregate, originator_version=version, topic=topic, state=state
            )
            for position, aggregate, version, topic, state in self._rows(statement, params)
        ]

    def _rows(self, statement: Any, params: Sequence[Any]) -> list[LogRow]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(statement, params, prepare=True)
            return curs.fetchall()
