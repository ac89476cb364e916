"""What a database holds, relation by relation, for `benchmarks.bytes_per_send`: each table of the
public schema with its heap, TOAST and each index as `pg_relation_size` (what the disk holds, free
space inside the files included), its live rows and their bytes (`sum(pg_column_size(t.*))`), and
the dead rows PostgreSQL counted before the VACUUM that precedes every reading, and its row updates
(how many were HOT: written in the same page, with no new index entries)."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

TABLES = """
    SELECT c.oid, c.relname, pg_relation_size(c.oid) AS heap,
           coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast,
           coalesce(s.n_tup_upd, 0) AS updates, coalesce(s.n_tup_hot_upd, 0) AS hot
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    ORDER BY c.relname"""
INDEXES = """
    SELECT i.indrelid, x.relname, pg_relation_size(i.indexrelid) AS size
    FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = x.relnamespace
    WHERE n.nspname = 'public' ORDER BY x.relname"""


@dataclass
class Relation:
    """One table and what belongs to it, in bytes."""

    name: str
    heap: int
    toast: int
    indexes: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    row_bytes: int = 0
    dead_before_vacuum: int = 0
    updates: int = 0  # row updates since the database was made, and how many of them were HOT
    hot_updates: int = 0

    @property
    def total(self) -> int:  # pg_total_relation_size: heap, TOAST, every index
        return self.heap + self.toast + sum(self.indexes.values())


def dead_rows(url: str) -> dict[str, int]:
    """Dead rows per table as PostgreSQL's statistics count them now (before a VACUUM)."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {name: dead for name, dead in rows}


def vacuumed_relations(url: str) -> dict[str, Relation]:
    """Every table of the database after a plain VACUUM (ANALYZE), with its dead rows before it."""
    before = dead_rows(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        relations: dict[int, Relation] = {}
        for oid, name, heap, toast, updates, hot in conn.execute(TABLES).fetchall():
            relations[oid] = Relation(name, heap, toast, dead_before_vacuum=before.get(name, 0))
            relations[oid].updates, relations[oid].hot_updates = updates, hot
        for table, index, size in conn.execute(INDEXES).fetchall():
            if table in relations:
                relations[table].indexes[index] = size
        for relation in relations.values():
            query = sql.SQL("SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0) FROM {} t").format(
                sql.Identifier(relation.name)
            )
            relation.rows, relation.row_bytes = conn.execute(query).fetchone() or (0, 0)
    return {relation.name: relation for relation in relations.values()}
