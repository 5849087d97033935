"""Open the log: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE for writes) or a database URL."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import Session

from modtui.errors import StoreError
from modtui.store.migrations import migrate

BUSY_TIMEOUT_MS = 30_000


@dataclass
class Store:
    engine: Engine
    url: str

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at once and commits on success."""
        with Session(self.engine.execution_options(modtui_write=True), expire_on_commit=False) as session:
            with session.begin():
                yield session

    def close(self) -> None:
        self.engine.dispose()


def db_url(value: str) -> str:
    """A path becomes a sqlite URL; URLs (sqlite://, postgresql://…) pass through."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def shown_url(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False})
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


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
            raise StoreError(f"{shown_url(url)}: cannot open the log: {exc.orig}") from None
        raise
    return Store(engine, url)
