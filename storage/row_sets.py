"""Many rows of a read model in one statement: each column sent as one typed array and unnested.

A projection's batch touches thousands of rows. Sent row by row (executemany) every row is a
statement PostgreSQL parses, plans and runs, and a round of Python dumping; sent as one array per
column, the batch is one statement: `INSERT ... SELECT FROM unnest(...)`, or `UPDATE ... FROM
unnest(...)` joined on the row's key. The arrays go in binary: psycopg's text dumping of arrays
runs in Python, value by value, and costs seven times as much. The caller folds its batch to one
row per key first (an UPDATE or an upsert given the same key twice would apply one of them at
random, or fail).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Composable, Composed, Identifier

Columns = Sequence[tuple[str, str]]  # (name, PostgreSQL type) in the order of each row's values


def unnested(columns: Columns) -> Composed:
    """`unnest(%b::type[], ...) AS u(name, ...)`: the rows as a table named `u`."""
    arrays = SQL(", ").join(SQL("%b::{}[]").format(SQL(kind)) for _, kind in columns)
    names = SQL(", ").join(Identifier(name) for name, _ in columns)
    return SQL("unnest({}) AS u({})").format(arrays, names)


def arrays(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """The rows' values column by column: the parameters of `unnested`."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def insert_rows(
    cur: Any, table: str, columns: Columns, rows: Sequence[Sequence[Any]], conflict: str = ""
) -> None:
    """INSERT every row in one statement; `conflict` is the statement's ON CONFLICT clause, if any."""
    if not rows:
        return
    names = SQL(", ").join(Identifier(name) for name, _ in columns)
    cur.execute(
        SQL("INSERT INTO {} ({}) SELECT * FROM {} {}").format(
            Identifier(table), names, unnested(columns), SQL(conflict)
        ),
        arrays(rows, len(columns)),
    )


def update_rows(
    cur: Any,
    table: str,
    columns: Columns,
    keys: Columns,
    rows: Sequence[Sequence[Any]],
    condition: Composable | None = None,
    assign: Composable | None = None,
) -> None:
    """SET `columns` of the row with each row's `keys` (its values first, then its keys), in one
    statement; `condition` adds to the WHERE clause (`AND ...`) and `assign` replaces the SET
    list, both naming the table `t` and the row `u`."""
    if not rows:
        return
    sets = assign or SQL(", ").join(SQL("{0} = u.{0}").format(Identifier(name)) for name, _ in columns)
    match = SQL(" AND ").join(SQL("t.{0} = u.{0}").format(Identifier(name)) for name, _ in keys)
    cur.execute(
        SQL("UPDATE {} AS t SET {} FROM {} WHERE {} {}").format(
            Identifier(table), sets, unnested([*columns, *keys]), match, condition or SQL("")
        ),
        arrays(rows, len(columns) + len(keys)),
    )
