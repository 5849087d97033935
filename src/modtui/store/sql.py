"""The log through Core statements on its tables by name: no ORM, no SQLModel import.

`modtui replay` reads and writes the log only through these (store.runs, store.incidents, store.repeats): importing
SQLModel's ORM and building its table classes costs ~0.1-0.2 s of a process's start-up, before the first call.
Each query function takes a Core connection (Store.connect / Store.transaction) or an ORM session (Store.read /
Store.write, whose pending objects are flushed first), so the other paths call the same functions.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from sqlmodel import Session

_COLUMNS: weakref.WeakKeyDictionary[Engine, dict[str, tuple[str, ...]]] = weakref.WeakKeyDictionary()
# an open log (its engine) → table → its columns, read once (a log opened again, e.g. after a migration, is read again)


def connection_of(db: Connection | Session) -> Connection:
    """The Core connection of a connection or of an ORM session (flushed first, so a statement sees its objects)."""
    if isinstance(db, Connection):
        return db
    db.flush()
    return db.connection()


ID_LIMIT = 2**31  # ids are assigned from 1 up; PostgreSQL's id columns are 32-bit integers, SQLite's 64-bit


def can_be_id(value: int) -> bool:
    """Whether a row could have this id: a larger number would be refused by the driver (OverflowError on
    SQLite, DataError on PostgreSQL), where a lookup should simply find nothing."""
    return -ID_LIMIT <= value < ID_LIMIT


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def by_code_point(conn: Connection, column: str) -> str:
    """`column` for an ORDER BY in code point order, as SQLite sorts text (PostgreSQL would use its locale)."""
    return f'{column} COLLATE "C"' if is_postgres(conn) else column


def columns(conn: Connection, table: str) -> tuple[str, ...]:
    """The table's columns as the log has them (its migrations applied), in order."""
    known = _COLUMNS.setdefault(conn.engine, {})
    if table not in known:
        known[table] = tuple(conn.execute(text(f"SELECT * FROM {table} WHERE 1 = 0")).keys())
    return known[table]


def is_complete(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    """Every row names every column of the table, and only those: nothing is left for a default to fill in."""
    names = set(columns(conn, table))
    return all(row.keys() == names for row in rows)


def insert_rows(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = ()) -> None:
    """One INSERT of `rows` (mappings with the same keys) in the driver's executemany, named parameters bound as
    they are (text, numbers, booleans, None); with `keys`, a row whose key is present already is skipped."""
    if not rows:
        return
    names = list(rows[0])
    conflict = f" ON CONFLICT ({', '.join(keys)}) DO NOTHING" if keys else ""
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}){conflict}"
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(sql, list(rows))  # SQLite's paramstyle is named: the mappings go to executemany
    else:
        conn.execute(text(sql), list(rows))


def insert_returning_id(conn: Connection, table: str, values: Mapping[str, Any]) -> int:
    """Insert one row into a table with an integer `id` key the database assigns; its id."""
    names = list(values)
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    if is_postgres(conn):
        return int(conn.execute(text(sql + " RETURNING id"), dict(values)).scalar_one())
    result = conn.execute(text(sql), dict(values))
    return int(result.lastrowid)  # SQLite's rowid: RETURNING needs SQLite 3.35


def update(conn: Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """UPDATE the row(s) whose columns equal `key` to `values`; how many rows matched."""
    sets = ", ".join(f"{n} = :v_{n}" for n in values)
    where = " AND ".join(f"{n} = :k_{n}" for n in key)
    params = {f"v_{n}": v for n, v in values.items()} | {f"k_{n}": v for n, v in key.items()}
    return int(conn.execute(text(f"UPDATE {table} SET {sets} WHERE {where}"), params).rowcount)


def first(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The first row of a query as a dict of its columns, or None."""
    row = conn.execute(text(sql), dict(params or {})).first()
    return dict(row._mapping) if row is not None else None
