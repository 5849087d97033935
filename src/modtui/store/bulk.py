"""Bulk inserts: many rows of one table in one statement, ignoring rows whose key is already present.

On SQLite the rows (dicts with the same keys) go to the driver's executemany as they are, as named parameters:
SQLAlchemy's per-row parameter processing costs several times the insert itself at tens of thousands of rows
(bench/offline.py). Values are what the driver binds anyway (text, numbers, booleans as 0/1, None); tests/
test_store.py checks that both paths write the same rows. Other databases take SQLAlchemy's insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from modtui.store import sql

if TYPE_CHECKING:
    from sqlmodel import Session


def insert_many(db: Connection | Session, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str] = ()) -> None:
    """Insert `rows` into `table`; with `keys`, a row whose key is present already is skipped."""
    rows = list(rows)
    if not rows:
        return
    conn = sql.connection_of(db)
    if conn.dialect.name == "sqlite" and _plain(table, rows):
        sql.insert_rows(conn, table.name, rows, keys)  # a list of mappings: the driver's executemany
        return
    conn.execute(_statement(conn, table, keys), rows)


def _plain(table: Any, rows: list[dict[str, Any]]) -> bool:
    """Every row names the same columns, all of them the table's, and every column with a default (anything else:
    SQLAlchemy fills the defaults in, or says what is wrong; the driver would leave them NULL)."""
    names = rows[0].keys()
    return (
        all(name in table.c for name in names)
        and all(column.name in names for column in table.columns if column.default is not None)
        and all(row.keys() == names for row in rows)
    )


def _statement(conn: Connection, table: Any, keys: Sequence[str]) -> Any:
    if not keys:
        return table.insert()
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # the dialect in use is loaded already; the other never is

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
