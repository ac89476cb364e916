"""The tables of a read model's rebuild: empty copies in a schema of their own, swapped in at the end.

`copy_tables` makes `rebuild_<name>` with a copy of each of the model's live tables (columns,
defaults, keys and unique constraints: `apply`'s ON CONFLICT needs them; storage parameters such as
a fill factor); `build_other_indexes`
adds the live tables' other indexes, same names, once the rows are in (faster than keeping them
up to date row by row, and a later migration's `CREATE INDEX IF NOT EXISTS` still finds them);
`swap_in` moves the live tables out and the copies in, inside the caller's transaction, and drops
the old ones. A serial column's sequence stays the live one's, so ids keep growing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.sql import SQL, Identifier

from projections.runner import ReadModel
from storage.database import Database


@dataclass
class Shadow:
    """A read model being rebuilt: where its copies are, and the log position they have reached."""

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


def copy_tables(db: Database, model: ReadModel) -> Shadow:
    """An empty schema with a copy of each of the model's tables: columns, defaults, keys."""
    schema = f"rebuild_{model.name}"
    with db.transaction() as cur:
        live = _live_schema(cur, model.tables[0])
        cur.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
        cur.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        for table in model.tables:
            source, copy = Identifier(live, table), Identifier(schema, table)
            cur.execute(SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(copy, source))
            _copy_storage_parameters(cur, f"{live}.{table}", copy)
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


def _copy_storage_parameters(cur: Any, live: str, copy: Identifier) -> None:
    """The live table's storage parameters (a fill factor: room for rewrites in each page), which
    LIKE does not copy, so a rebuilt table is stored as its migration asked."""
    cur.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (live,))
    options = (cur.fetchone() or {}).get("reloptions")
    if options:
        cur.execute(SQL("ALTER TABLE {} SET ({})").format(copy, SQL(", ").join(SQL(o) for o in options)))


def build_other_indexes(cur: Any, shadow: Shadow) -> None:
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
            # PostgreSQL's own text of the live index, on the copy: the name stays, and an index
            # is made in its table's schema. The table prints qualified unless on the search_path.
            definition, copy = index["definition"], f" ON {shadow.schema}.{table} "
            for live in (f" ON {shadow.live_schema}.{table} ", f" ON {table} "):
                definition = definition.replace(live, copy, 1)
            if copy not in definition:
                raise RuntimeError(f"cannot tell the table in {index['definition']!r}")
            cur.execute(SQL(definition))


def _owned_sequences(cur: Any, schema: str, table: str) -> list[tuple[str, str]]:
    """(sequence, column) of the table's serial columns."""
    cur.execute(
        """SELECT s.oid::regclass::text AS sequence, a.attname AS column_name
             FROM pg_depend d
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.refobjid = %s::regclass AND d.deptype = 'a'""",
        (f"{schema}.{table}",),
    )
    return [(row["sequence"], row["column_name"]) for row in cur.fetchall()]


def swap_in(cur: Any, shadow: Shadow) -> None:
    """Move the live tables out and the copies in (the caller's transaction), drop the old ones."""
    retired = Identifier(f"retired_{shadow.model.name}")
    cur.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(retired))
    cur.execute(SQL("CREATE SCHEMA {}").format(retired))
    for table in shadow.model.tables:
        # A serial column's sequence belongs to the live table and the copy's default uses it:
        # it stays where it is, unowned while the tables move, then owned by the copy.
        sequences = _owned_sequences(cur, shadow.live_schema, table)
        for sequence, _ in sequences:
            cur.execute(SQL("ALTER SEQUENCE {} OWNED BY NONE").format(SQL(sequence)))
        cur.execute(
            SQL("ALTER TABLE {} SET SCHEMA {}").format(Identifier(shadow.live_schema, table), retired)
        )
        cur.execute(
            SQL("ALTER TABLE {} SET SCHEMA {}").format(
                Identifier(shadow.schema, table), Identifier(shadow.live_schema)
            )
        )
        for sequence, column in sequences:
            owner = Identifier(shadow.live_schema, table, column)
            cur.execute(SQL("ALTER SEQUENCE {} OWNED BY {}").format(SQL(sequence), owner))
    cur.execute(SQL("DROP SCHEMA {} CASCADE").format(retired))
    cur.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(shadow.schema)))
