"""Open the log: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE for writes) or PostgreSQL by URL.

Both give a write transaction the same meaning: it holds the log's one write lock from its first
statement to its commit (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so
read-then-write steps (resume a run or start one, add a prompt version, replace an incident's items,
migrate) never race between two processes sharing the log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, DatabaseError, DataError, OperationalError

if TYPE_CHECKING:  # imported when a session is opened: a Core-only reader (`runs compare`) never loads SQLModel
    from sqlmodel import Session

from modtui.errors import StoreError
from modtui.store.migrations import migrate

BUSY_TIMEOUT_MS = 30_000
PG_WRITE_LOCK = 0x6D6F6474  # "modt": the advisory lock key every modtui writer takes on PostgreSQL
PG_DRIVER = "psycopg"


@dataclass
class Store:
    engine: Engine
    url: str

    @contextmanager
    def read(self) -> Iterator[Session]:
        from sqlmodel import Session

        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at once and commits on success.

        A value the database refuses (PostgreSQL: text holding NUL) is a StoreError; nothing is written."""
        from sqlmodel import Session

        with self._refusals():
            with Session(self.engine.execution_options(modtui_write=True), expire_on_commit=False) as session:
                with session.begin():
                    yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """`write` as a Core connection (no ORM, no SQLModel import): the write lock at once, commit on success."""
        with self._refusals():
            with self.engine.connect().execution_options(modtui_write=True) as conn, conn.begin():
                yield conn

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        """A value the database refuses (PostgreSQL: text holding NUL) or a write it refuses is a StoreError."""
        try:
            yield
        except DataError as exc:
            raise StoreError(f"{shown_url(self.url)}: the log refused a value: {exc.orig}".strip()) from None
        except OperationalError as exc:  # a full disk, a read-only file, a lost server: say which log and why
            raise StoreError(f"{shown_url(self.url)}: the log refused a write: {exc.orig}".strip()) from None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection for reading (plain rows, no ORM, no SQLModel import)."""
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def db_url(value: str) -> str:
    """A path becomes a sqlite URL; `postgresql://` (or `postgres://`) gets the pinned driver; other URLs pass."""
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+{PG_DRIVER}://{rest}"
    return value


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def shown_url(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user, has_password, _ = creds.partition(":")
        return f"{scheme}://{user}{':***' if has_password else ''}@{host}"
    return url


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"isolation_level": None, "timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        _sqlite_pragmas(engine)
        return engine
    if is_postgres(url):
        return _postgres_engine(url)
    # the migrations and the write lock are SQLite's and PostgreSQL's: another URL is a mistake, said as one
    raise StoreError(
        f"{shown_url(url)}: not a log modtui can open: give a path, sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _postgres_engine(url: str) -> Engine:
    try:
        engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=8)
    except ModuleNotFoundError as exc:  # the driver is an optional extra
        raise StoreError(
            f"{shown_url(url)}: the PostgreSQL driver is not installed ({exc.name}); "
            f"install it with: pip install 'modtui[postgres]'"
        ) from None
    except (ArgumentError, ValueError) as exc:  # a port that is not a number, a URL SQLAlchemy cannot parse
        raise StoreError(f"{shown_url(url)}: not a PostgreSQL URL modtui can read: {exc}") from None

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("modtui_write"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")

    return engine


def code_point_order(session: Session, column: Any) -> Any:
    """`column` sorted by code point, as SQLite sorts text: PostgreSQL would use the database's locale."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get("modtui_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _read_only_hint(url: str) -> str:
    """SQLite says "unable to open database file" for a log it may read but not write (WAL needs both)."""
    if not url.startswith("sqlite:///"):
        return ""
    path = Path(url.split(":///", 1)[1])
    if path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return " (the file or its folder is read-only: modtui writes to its log, and needs both writable)"
    return ""


def open_store(url_or_path: str, *, migrate_upto: int | None = None) -> Store:
    """Open (creating if needed) and migrate the log. A log from a newer modtui is refused untouched."""
    url = db_url(url_or_path)
    engine = None
    try:
        engine = make_engine(url)
        migrate(engine, shown_url(url), migrate_upto)
    except BaseException as exc:
        if engine is not None:
            engine.dispose()  # a refused log is left closed, not held open by a pooled connection
        if isinstance(exc, (OperationalError, DatabaseError)):
            raise StoreError(f"{shown_url(url)}: cannot open the log: {exc.orig}{_read_only_hint(url)}") from None
        raise
    return Store(engine, url)
