"""The log: pragmas, named forward migrations, refusing newer logs untouched, incident sync."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from conftest import INCIDENT_ID
from modtui.errors import StoreError
from modtui.incidents.loader import load_incident
from modtui.store.db import open_store
from modtui.store.incidents import sync_incident
from modtui.store.migrations import MIGRATIONS
from modtui.store.tables import IncidentRow, ItemRow

ALL = [name for name, _ in MIGRATIONS]


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


def test_old_log_is_migrated_forward_keeping_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    open_store(str(db), migrate_upto=1).close()
    tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "incident" in tables and "event" not in tables and "finding" not in tables
    assert sql(db, "SELECT name FROM migrations") == [(ALL[0],)]
    sql(db, "INSERT INTO incident VALUES ('INC-OLD', 't', 'SEV2', 'open', 'p', 'toxic', '[\"toxic\",\"ok\"]', "
            "'prompts/p/production.yaml', 'offline', NULL, '', 'h', '2026-01-01T00:00:00Z')")
    sql(db, "INSERT INTO item VALUES ('INC-OLD', 'i1', 'hello', 'ok', 'toxic', 'false_positive', '{}')")

    store = open_store(str(db))
    try:
        with store.read() as session:
            assert session.get(IncidentRow, "INC-OLD").title == "t"
            assert session.get(ItemRow, ("INC-OLD", "i1")).content == "hello"
    finally:
        store.close()
    assert [r[0] for r in sql(db, "SELECT name FROM migrations ORDER BY applied_order")] == ALL
    tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"event", "finding"} <= tables
    indexes = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_event_incident" in indexes


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


def test_newer_log_via_cli(workspace: Path, run_cli) -> None:
    db = workspace / ".modtui" / "modtui.db"
    db.parent.mkdir()
    before = _newer_log(db)
    for args in (["incident", "list"], ["incident", "status", INCIDENT_ID, "investigating"]):
        result = run_cli(workspace, *args)
        assert result.exit_code == 2
        assert "the log was written by a newer modtui (unknown migration 'm999_from_the_future')" in result.stderr
        assert "Traceback" not in result.stderr
        assert file_hash(db) == before
    assert "status: open" in (workspace / "incidents" / INCIDENT_ID / "incident.yaml").read_text()


def test_garbage_log_is_refused_untouched(workspace: Path, run_cli) -> None:
    db = workspace / ".modtui" / "modtui.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database, just some text that happens to be long enough" * 20)
    before = file_hash(db)
    result = run_cli(workspace, "incident", "list")
    assert result.exit_code == 2
    assert "cannot open the log" in result.stderr
    assert "Traceback" not in result.stderr
    assert file_hash(db) == before


def test_sync_incident_noop_then_replace(workspace: Path) -> None:
    folder = workspace / "incidents" / INCIDENT_ID
    store = open_store(str(workspace / "log.db"))
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
