"""The log: pragmas, named forward migrations, refusing newer logs untouched, incident sync."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from conftest import INCIDENT_ID, fresh_pg_database
from modtui.errors import StoreError
from modtui.incidents.loader import load_incident
from modtui.store.db import db_url as normalised_url
from modtui.store.db import open_store, shown_url
from modtui.store.incidents import sync_incident
from modtui.store.migrations import MIGRATIONS
from modtui.store.tables import IncidentRow, ItemRow

ALL = [name for name, _ in MIGRATIONS]


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new log, not migrated yet: a SQLite file, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "log.db")
        return
    with fresh_pg_database() as url:
        yield url


def run_sql(url: str, query: str, **params: object) -> list[tuple]:
    """A query through a separate connection (another process's view), committed."""
    engine = create_engine(normalised_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order: what 'untouched' means on any database."""
    engine = create_engine(normalised_url(url))
    try:
        with engine.connect() as conn:
            return {
                t: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"'))), key=repr)
                for t in sorted(inspect(conn).get_table_names())
            }
    finally:
        engine.dispose()


def sql(db: Path, query: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        out = con.execute(query, params).fetchall()
        con.commit()
        return out
    finally:
        con.close()


def file_hash(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def test_fresh_log_pragmas_and_migrations(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "modtui.db"
    store = open_store(str(db))
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            names = [r[0] for r in conn.execute(text("SELECT name FROM migrations ORDER BY applied_order"))]
            orders = [r[0] for r in conn.execute(text("SELECT applied_order FROM migrations ORDER BY applied_order"))]
        assert names == ALL
        assert orders == list(range(1, len(ALL) + 1))
        with pytest.raises(IntegrityError):  # foreign keys are enforced, not just declared
            with store.write() as session:
                session.add(ItemRow(incident_id="NOPE", item_id="x", content="c", expected="ok", kind="eval"))
    finally:
        store.close()
    store = open_store(str(db))  # reopening applies nothing twice
    store.close()
    assert sql(db, "SELECT count(*) FROM migrations") == [(len(ALL),)]


def test_fresh_log_migrations_and_foreign_keys(log_url: str) -> None:
    store = open_store(log_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, applied_order FROM migrations ORDER BY applied_order")).all()
        assert [tuple(r) for r in rows] == [(name, n) for n, name in enumerate(ALL, start=1)]
        with pytest.raises(IntegrityError):  # foreign keys are enforced, not just declared
            with store.write() as session:
                session.add(ItemRow(incident_id="NOPE", item_id="x", content="c", expected="ok", kind="eval"))
    finally:
        store.close()
    open_store(log_url).close()  # reopening applies nothing twice
    assert run_sql(log_url, "SELECT count(*) FROM migrations") == [(len(ALL),)]


def test_old_log_is_migrated_forward_keeping_rows(log_url: str) -> None:
    open_store(log_url, migrate_upto=1).close()
    tables = set(snapshot(log_url))
    assert "incident" in tables and "event" not in tables and "finding" not in tables
    assert run_sql(log_url, "SELECT name FROM migrations") == [(ALL[0],)]
    run_sql(
        log_url,
        "INSERT INTO incident VALUES ('INC-OLD', 't', 'SEV2', 'open', 'p', 'toxic', '[\"toxic\",\"ok\"]', "
        "'prompts/p/production.yaml', 'offline', NULL, '', 'h', '2026-01-01T00:00:00Z')",
    )
    run_sql(log_url, "INSERT INTO item VALUES ('INC-OLD', 'i1', 'hello', 'ok', 'toxic', 'false_positive', '{}')")

    store = open_store(log_url)
    try:
        with store.read() as session:
            assert session.get(IncidentRow, "INC-OLD").title == "t"
            assert session.get(ItemRow, ("INC-OLD", "i1")).content == "hello"
        with store.engine.connect() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("event")}
    finally:
        store.close()
    assert [r[0] for r in run_sql(log_url, "SELECT name FROM migrations ORDER BY applied_order")] == ALL
    assert {"event", "finding"} <= set(snapshot(log_url))
    assert "ix_event_incident" in indexes


def test_newer_log_is_refused_untouched_on_any_database(log_url: str) -> None:
    open_store(log_url).close()
    run_sql(
        log_url, "INSERT INTO migrations (name, applied_order, applied_at) VALUES ('m999_from_the_future', 99, 'x')"
    )
    before = snapshot(log_url)
    with pytest.raises(StoreError) as err:
        open_store(log_url)
    assert "newer modtui" in str(err.value) and "m999_from_the_future" in str(err.value)
    assert err.value.exit_code == 2
    assert snapshot(log_url) == before


def test_two_processes_opening_a_fresh_log_migrate_it_once(log_url: str) -> None:
    """Both wait for the write lock; the second finds every migration applied (on SQLite and PostgreSQL)."""
    code = "import sys; from modtui.store.db import open_store; open_store(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, log_url], stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert run_sql(log_url, "SELECT count(*) FROM migrations") == [(len(ALL),)]


def test_postgres_urls_get_the_pinned_driver_and_hide_passwords() -> None:
    assert normalised_url("postgresql://ana:pw@db.example/modtui") == "postgresql+psycopg://ana:pw@db.example/modtui"
    assert normalised_url("postgres://db/modtui") == "postgresql+psycopg://db/modtui"
    assert normalised_url("postgresql+psycopg://db/modtui") == "postgresql+psycopg://db/modtui"
    assert shown_url("postgresql+psycopg://ana:s3cret@db:5432/modtui") == "postgresql+psycopg://ana:***@db:5432/modtui"


def test_unreachable_postgres_is_a_clear_error(workspace: Path, run_cli) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://ana:s3cret-pw@127.0.0.1:9/modtui?connect_timeout=2"
    result = run_cli(workspace, "--db", url, "incident", "list")
    assert result.exit_code == 2
    assert "cannot open the log" in result.stderr and "127.0.0.1:9" in result.stderr
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr


def test_a_value_postgresql_refuses_is_a_clear_error(workspace: Path, run_cli, db_url: str | None) -> None:
    """Text with NUL: SQLite stores it; PostgreSQL refuses it, which is exit 2 with the reason, nothing written."""
    items = workspace / "incidents" / INCIDENT_ID / "items.jsonl"
    items.write_text(items.read_text().replace("have a nice day", "have a nice\\u0000day"))
    args = ["--db", db_url] if db_url else []
    result = run_cli(workspace, *args, "incident", "show", INCIDENT_ID)
    if db_url is None:
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 2 and "NUL" in result.stderr and "Traceback" not in result.stderr
    assert run_sql(db_url, "SELECT count(*) FROM item") == [(0,)]


def _newer_log(db: Path) -> str:
    open_store(str(db)).close()
    sql(db, "INSERT INTO migrations (name, applied_order, applied_at) VALUES ('m999_from_the_future', 99, 'x')")
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    return file_hash(db)


def test_newer_log_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    before = _newer_log(db)
    with pytest.raises(StoreError) as err:
        open_store(str(db))
    assert "newer modtui" in str(err.value) and "m999_from_the_future" in str(err.value)
    assert err.value.exit_code == 2
    assert file_hash(db) == before
    assert not db.with_name("new.db-wal").exists(), "the refused log was left open"


def test_newer_log_via_cli(bare_workspace: Path, run_cli) -> None:
    db = bare_workspace / ".modtui" / "modtui.db"
    db.parent.mkdir()
    before = _newer_log(db)
    for args in (["incident", "list"], ["incident", "status", INCIDENT_ID, "investigating"]):
        result = run_cli(bare_workspace, *args)
        assert result.exit_code == 2
        assert "the log was written by a newer modtui (unknown migration 'm999_from_the_future')" in result.stderr
        assert "Traceback" not in result.stderr
        assert file_hash(db) == before
    assert "status: open" in (bare_workspace / "incidents" / INCIDENT_ID / "incident.yaml").read_text()


def test_garbage_log_is_refused_untouched(bare_workspace: Path, run_cli) -> None:
    db = bare_workspace / ".modtui" / "modtui.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database, just some text that happens to be long enough" * 20)
    before = file_hash(db)
    result = run_cli(bare_workspace, "incident", "list")
    assert result.exit_code == 2
    assert "cannot open the log" in result.stderr
    assert "Traceback" not in result.stderr
    assert file_hash(db) == before


def test_sync_incident_noop_then_replace(workspace: Path, log_url: str) -> None:
    folder = workspace / "incidents" / INCIDENT_ID
    store = open_store(log_url)
    try:
        sync_incident(store, load_incident(folder))
        with store.read() as session:
            first = session.get(IncidentRow, INCIDENT_ID).model_dump()
            assert len(session.exec(ItemRow.__table__.select()).all()) == 12  # type: ignore[attr-defined]

        # unchanged files (even with comments and formatting changed) → nothing written
        yaml_path = folder / "incident.yaml"
        yaml_path.write_text("# another comment\n" + yaml_path.read_text().replace("[toxic, ok]", "[toxic,   ok]"))
        sync_incident(store, load_incident(folder))
        with store.read() as session:
            assert session.get(IncidentRow, INCIDENT_ID).model_dump() == first

        # items changed → replaced: one removed, one edited, one added
        items_path = folder / "items.jsonl"
        lines = items_path.read_text().splitlines()
        lines = [line.replace("have a nice day", "have a NICE day") for line in lines if '"i-12"' not in line]
        lines.append(json.dumps({"id": "i-13", "content": "new", "expected": "toxic", "observed": "ok"}))
        items_path.write_text("\n".join(lines) + "\n")
        sync_incident(store, load_incident(folder))
        with store.read() as session:
            row = session.get(IncidentRow, INCIDENT_ID)
            assert row.source_hash != first["source_hash"]
            items = {r.item_id: r for r in session.exec(ItemRow.__table__.select()).all()}  # type: ignore[attr-defined]
        assert len(items) == 12 and "i-12" not in items
        assert items["i-07"].content == "have a NICE day"
        assert (items["i-13"].kind, items["i-13"].observed) == ("false_negative", "ok")
        assert json.loads(items["i-01"].meta_json) == {"locale": "en-US"}
    finally:
        store.close()


def test_reading_commands_do_not_rewrite_an_unchanged_log(workspace: Path, run_cli) -> None:
    """After the first load, list/show/validate leave the log's bytes alone."""
    assert run_cli(workspace, "incident", "list").exit_code == 0
    db = workspace / ".modtui" / "modtui.db"
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    before = file_hash(db)
    for args in (["incident", "list"], ["incident", "show", INCIDENT_ID], ["validate"], ["targets"]):
        assert run_cli(workspace, *args).exit_code == 0
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    assert file_hash(db) == before


# ---------------------------------------------------------------- bulk inserts: the SQLite fast path (store.bulk)
def _replayed(ws: Path, run_cli, monkeypatch: pytest.MonkeyPatch, fast: bool) -> dict[str, list[tuple]]:
    from modtui.store import bulk

    monkeypatch.setattr(bulk, "_plain", bulk._plain if fast else (lambda table, rows: False))
    result = run_cli(ws, "replay", INCIDENT_ID, "-m", "offline", "-p", "toxicity/candidate")
    assert result.exit_code == 0, result.stderr
    db = ws / ".modtui" / "modtui.db"
    results = sql(db, "SELECT * FROM result ORDER BY run_id, item_id")
    columns = [r[1] for r in sql(db, "PRAGMA table_info(result)")]
    varying = {columns.index("created_at"), columns.index("latency_ms")}  # when, and how long: never the same
    return {
        "result": [tuple(v for i, v in enumerate(row) if i not in varying) for row in results],
        "item": sql(db, "SELECT * FROM item ORDER BY incident_id, item_id"),
    }


def test_bulk_inserts_write_what_sqlalchemy_writes(
    workspace: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(workspace, other)
    fast, slow = _replayed(workspace, run_cli, monkeypatch, True), _replayed(other, run_cli, monkeypatch, False)
    assert fast == slow and len(fast["result"]) > 10 and fast["item"]


def test_bulk_inserts_bind_enums_and_booleans_as_sqlalchemy_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modtui.domain.verdict import ErrorType
    from modtui.store import bulk
    from modtui.store.tables import CacheRow

    row = {
        "key": "k1",
        "target_key": "t",
        "text": "naïve ✓",
        "refusal": None,
        "finish_reason": ErrorType.TIMEOUT,
        "tokens_in": 3,
        "tokens_out": 0,
        "raw_json": None,
        "created_at": "2026-12-03T00:00:00Z",
        "answered_model": None,
        "system_fingerprint": None,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
    }
    written = {}
    for fast in (True, False):
        monkeypatch.setattr(bulk, "_plain", bulk._plain if fast else (lambda table, rows: False))
        store = open_store(str(tmp_path / f"{fast}.db"))
        with store.write() as session:
            bulk.insert_many(session, CacheRow.__table__, [row, row | {"key": "k2", "tokens_in": 0}], ["key"])
            bulk.insert_many(session, CacheRow.__table__, [row | {"text": "a second k1: ignored"}], ["key"])
        written[fast] = sql(tmp_path / f"{fast}.db", "SELECT * FROM response_cache ORDER BY key")
        store.close()
    assert written[True] == written[False] and len(written[True]) == 2
    assert written[True][0][2] == "naïve ✓" and "timeout" in written[True][0]


def test_bulk_rows_without_a_defaulted_column_get_its_default(tmp_path: Path) -> None:
    """A row that leaves out columns with defaults (a script writing results straight through the store) is
    written with those defaults, as SQLAlchemy writes it (the driver alone would bind NULL and fail NOT NULL)."""
    from modtui.store import bulk
    from modtui.store.tables import CacheRow

    store = open_store(str(tmp_path / "log.db"))
    with store.write() as session:
        bulk.insert_many(session, CacheRow.__table__, [{"key": "k1", "target_key": "t", "created_at": "now"}], ["key"])
    store.close()
    rows = sql(tmp_path / "log.db", "SELECT key, tokens_in, tokens_out, cache_read_tokens FROM response_cache")
    assert rows == [("k1", 0, 0, 0)]


@pytest.mark.parametrize("record_id", [2**31, 10**20, -(2**31) - 1])
def test_an_id_no_row_can_have_is_a_missing_one(ws: Any, record_id: int) -> None:
    """Beyond the id columns (PostgreSQL's are 32-bit): the driver raised OverflowError / DataError, a traceback."""
    from modtui.errors import UsageError
    from modtui.services import findings, runs

    with pytest.raises(UsageError, match=f"no run {record_id}"):
        runs.view(ws, record_id)
    with pytest.raises(UsageError, match=f"no run {record_id}"):
        runs.compare_runs(ws, record_id, record_id)
    with pytest.raises(UsageError, match=f"no finding {record_id}"):
        findings.get(ws, record_id)
