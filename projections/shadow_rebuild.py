"""Rebuilding read models from zero while the service keeps answering from the live ones.

Each read model is rebuilt into a schema of its own (`rebuild_<name>`) holding empty copies of its
live tables (same columns, defaults and keys; the other indexes are built once the rows are in,
which is faster than keeping them up to date row by row). One pass over the notification log
decodes each event once and hands it to every read model being rebuilt, with the transaction's
`search_path` pointed at that model's schema, so its ordinary `apply` writes the copies. Then,
per read model, one short transaction takes its advisory lock (the live runner waits between two
batches), applies the tail of the log that arrived meanwhile, moves the live tables out and the
copies in, and moves the model's position: readers see the old rows until that commit and the
new ones after it, never an empty read model. A read model's tables must not be the target of a
foreign key or a view (the swap would take them along); its SQL names them unqualified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from psycopg.sql import SQL, Identifier

from projections.runner import ReadModel
from storage import containment, parked
from storage.database import Database
from storage.event_log import brand_of, read_log


@dataclass
class Shadow:
    model: ReadModel
    schema: str
    live_schema: str
    position: int = 0

    @property
    def follower(self) -> str:
        return f"projection:{self.model.name}"


def _live_schema(cur: Any, table: str) -> str:
    cur.execute(
        """SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass(%s)""",
        (table,),
    )
    row = cur.fetchone()
    if row is None:
        raise LookupError(f"read model table {table} does not exist: run `campaign-service db upgrade`")
    return str(row["nspname"])


def prepare(db: Database, model: ReadModel) -> Shadow:
    """An empty schema with a copy of each of the model's tables: columns, defaults, keys."""
    schema = f"rebuild_{model.name}"
    with db.transaction() as cur:
        live = _live_schema(cur, model.tables[0])
        cur.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
        cur.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        for table in model.tables:
            source, copy = Identifier(live, table), Identifier(schema, table)
            cur.execute(SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(copy, source))
            cur.execute(  # keys and unique constraints now: apply's ON CONFLICT needs them
                """SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
                    WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname""",
                (f"{live}.{table}",),
            )
            for key in cur.fetchall():
                cur.execute(
                    SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(copy, Identifier(key["conname"]))
                    + SQL(key["definition"])
                )
    return Shadow(model, schema, live)


def _build_other_indexes(cur: Any, shadow: Shadow) -> None:
    """The live tables' indexes that back no constraint, same names, on the copies."""
    for table in shadow.model.tables:
        cur.execute(
            """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
                 FROM pg_index i
                WHERE i.indrelid = %s::regclass
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
            (f"{shadow.live_schema}.{table}",),
        )
        for index in cur.fetchall():
            live_name = f"{shadow.live_schema}.{table}"
            definition = index["definition"].replace(f" ON {live_name} ", f" ON {shadow.schema}.{table} ", 1)
            if f" ON {shadow.schema}.{table} " not in definition:  # public tables print unqualified
                definition = index["definition"].replace(f" ON {table} ", f" ON {shadow.schema}.{table} ", 1)
            cur.execute(SQL(definition))  # PostgreSQL's own text of the live index


def _apply(app: Application[UUID], cur: Any, shadow: Shadow, events: list[tuple[int, Any]]) -> None:
    cur.execute(
        SQL("SET LOCAL search_path TO {}, {}").format(
            Identifier(shadow.schema), Identifier(shadow.live_schema)
        )
    )
    try:
        containment.contain(
            events,
            lambda batch: _savepoint(cur, shadow.model, batch),
            lambda item, error, tries: parked.park(
                cur, f"rebuild:{shadow.model.name}", str(item[0]), brand_of(app, item[1]), error, tries
            ),
        )
    finally:
        cur.execute(SQL("SET LOCAL search_path TO {}").format(Identifier(shadow.live_schema)))


def _savepoint(cur: Any, model: ReadModel, batch: Sequence[tuple[int, Any]]) -> None:
    with cur.connection.transaction():  # a failed batch leaves nothing behind
        model.apply(cur, list(batch))


def _catch_up(app: Application[UUID], cur: Any, shadows: list[Shadow], batch_size: int) -> int:
    """Apply the next batch of the log to every shadow; how many events that read (0 at the head)."""
    start = min(shadow.position for shadow in shadows)
    classes = tuple({cls for shadow in shadows for cls in shadow.model.events})
    events, through = read_log(app, start, batch_size, classes)
    for shadow in shadows:
        mine = [(p, e) for p, e in events if p > shadow.position and isinstance(e, shadow.model.events)]
        if mine:
            _apply(app, cur, shadow, mine)
        shadow.position = max(shadow.position, through)
    return len(events) if through > start else 0


def rebuild(
    app: Application[UUID],
    db: Database,
    models: Sequence[ReadModel],
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild `models` from zero and swap them in; each one's log position it was rebuilt through."""
    shadows = [prepare(db, model) for model in models]
    while True:
        head = app.recorder.max_notification_id() or 0
        with db.transaction() as cur:
            read = _catch_up(app, cur, shadows, batch_size)
        if progress:
            progress(min(s.position for s in shadows), head)
        if read == 0 and min(s.position for s in shadows) >= head:
            break
    for shadow in shadows:
        with db.transaction() as cur:
            _build_other_indexes(cur, shadow)
    return {shadow.model.name: _swap(app, db, shadow, batch_size) for shadow in shadows}


def _hand_over_sequences(cur: Any, shadow: Shadow, table: str) -> None:
    """A serial column's sequence belongs to the live table, and the copy's default uses it: the
    copy becomes its owner, or dropping the retired table would take the sequence along."""
    cur.execute(
        """SELECT s.oid::regclass::text AS sequence, a.attname AS column_name
             FROM pg_depend d
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.refobjid = %s::regclass AND d.deptype = 'a'""",
        (f"{shadow.live_schema}.{table}",),
    )
    for owned in cur.fetchall():
        cur.execute(
            SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                SQL(owned["sequence"]), Identifier(shadow.schema, table, owned["column_name"])
            )
        )


def _swap(app: Application[UUID], db: Database, shadow: Shadow, batch_size: int) -> int:
    """In one transaction: lock out the live runner, apply the tail, swap the tables and positions."""
    retired = Identifier(f"retired_{shadow.model.name}")
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (shadow.model.name,))
        while _catch_up(app, cur, [shadow], batch_size):
            pass
        cur.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(retired))
        cur.execute(SQL("CREATE SCHEMA {}").format(retired))
        for table in shadow.model.tables:
            _hand_over_sequences(cur, shadow, table)
            cur.execute(
                SQL("ALTER TABLE {} SET SCHEMA {}").format(Identifier(shadow.live_schema, table), retired)
            )
            cur.execute(
                SQL("ALTER TABLE {} SET SCHEMA {}").format(
                    Identifier(shadow.schema, table), Identifier(shadow.live_schema)
                )
            )
        cur.execute(SQL("DROP SCHEMA {} CASCADE").format(retired))
        cur.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(shadow.schema)))
        cur.execute(
            """INSERT INTO projection_positions (projection, position) VALUES (%s, %s)
               ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position""",
            (shadow.model.name, shadow.position),
        )
        # The rebuild's parked items replace the live runner's: those events were applied again.
        cur.execute("DELETE FROM parked_items WHERE follower = %s", (shadow.follower,))
        cur.execute(
            "UPDATE parked_items SET follower = %s WHERE follower = %s",
            (shadow.follower, f"rebuild:{shadow.model.name}"),
        )
    return shadow.position
