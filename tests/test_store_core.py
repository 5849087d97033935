"""The log through Core statements (store.sql): the records and rows are those the ORM reads and writes, and a
replay never imports SQLModel's ORM."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from conftest import INCIDENT_ID
from modtui.domain.run import RunStatus
from modtui.store import incidents as iq
from modtui.store import repeats as rq
from modtui.store import runs as q
from modtui.store.records import RunRecord
from modtui.workspace import Workspace


def _replay(ws: Workspace, repeats: int = 1) -> list[int]:
    from modtui.replay.eventloop import run
    from modtui.services import replay as svc

    spec = svc.ReplaySpec(INCIDENT_ID, ["toxicity/candidate"], ["offline"], author="tester", repeats=repeats)
    plan = svc.plan(ws, spec)
    report = run(svc.execute(ws, plan, spec))
    return [r.run.id for r in report.runs]


def test_core_reads_give_the_records_the_orm_rows_give(ws: Workspace) -> None:
    from sqlmodel import select

    from modtui.store.tables import EventRow, ResultRow, RunRow

    run_ids = _replay(ws, repeats=2)
    with ws.store().read() as session, ws.store().connect() as conn:
        for run_id in run_ids:
            orm_run = session.get(RunRow, run_id)
            assert orm_run is not None
            assert q.get_run(conn, run_id) == q.get_run(session, run_id) == RunRecord.from_columns(orm_run.model_dump())
            orm_results = session.exec(select(ResultRow).where(ResultRow.run_id == run_id)).all()
            core = {r.item_id: dataclasses.asdict(r) for r in q.results_of(conn, run_id)}
            assert core == {r.item_id: dataclasses.asdict(q.result_record(r)) for r in orm_results}
            assert len(core) > 10 and {r["outcome"] for r in core.values()} >= {"label"}
            assert q.done_item_ids(conn, run_id) == set(core)
            assert rq.done_repeat_ids(conn, run_id, 2) == set(core)
            assert rq.outcomes_by_repeat(conn, run_id) == rq.outcomes_by_repeat(session, run_id)
        assert q.runs_for(conn, INCIDENT_ID) == q.runs_for(session, INCIDENT_ID) and len(q.runs_for(conn)) == 2
        first = q.results_of(conn, run_ids[0])[0]
        assert q.item_results(conn, INCIDENT_ID, first.item_id) == [
            (q.get_run(conn, r), next(x for x in q.results_of(conn, r) if x.item_id == first.item_id))
            for r in sorted(run_ids, reverse=True)
        ]
        events = iq.events(ws.store(), INCIDENT_ID)
        orm_events = session.exec(select(EventRow).where(EventRow.incident_id == INCIDENT_ID)).all()
        assert {e.id: e for e in events} == {
            row.id: iq.event_record(row.model_dump()) for row in orm_events
        } and events[0].kind == "run"
        assert q.positive_label(conn, INCIDENT_ID) == "toxic"


def _result(run_id: int, item_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "item_id": item_id,
        "outcome": "label",
        "label": "toxic",
        "confidence": 0.5,
        "rationale": "naïve ✓",
        "error_type": None,
        "detail": None,
        "raw_text": '{"label": "toxic"}',
        "finish_reason": "stop",
        "tokens_in": 7,
        "tokens_out": 2,
        "latency_ms": 12.5,
        "cost_usd": 0.001,
        "cached": False,
        "cache_key": "k-" + item_id,
        "created_at": "2026-12-03T00:00:00Z",
        "answered_model": "m",
        "system_fingerprint": None,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "rules_json": '["R1"]',
        "unknown_rules_json": "[]",
    } | extra


def test_core_inserts_write_what_sqlalchemy_writes(ws: Workspace) -> None:
    """Complete rows go in through one Core INSERT; SQLAlchemy's insert of the ORM table writes the same; a row
    that leaves out columns gets their defaults (through the ORM table), and a row already there is kept."""
    from sqlalchemy.dialects import postgresql, sqlite

    from modtui.store.tables import ResultRow

    run_ids = _replay(ws)
    dialect = postgresql if ws.store().url.startswith("postgresql") else sqlite
    with ws.store().transaction() as conn:
        q.insert_results(conn, [_result(run_ids[0], "core-1"), _result(run_ids[0], "core-2", cached=True)], [])
        statement = dialect.insert(ResultRow.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]
        conn.execute(statement, [_result(run_ids[0], "orm-1"), _result(run_ids[0], "orm-2", cached=True)])
        q.insert_results(conn, [{"run_id": run_ids[0], "item_id": "partial", "outcome": "error"}], [])
        q.insert_results(conn, [_result(run_ids[0], "core-1", label="ignored")], [])
    with ws.store().connect() as conn:
        rows = {r.item_id: dataclasses.asdict(r) for r in q.results_of(conn, run_ids[0])}
    for name in ("1", "2"):
        core, orm = dict(rows[f"core-{name}"]), dict(rows[f"orm-{name}"])
        assert core.pop("item_id") == f"core-{name}" and core.pop("cache_key") == f"k-core-{name}"
        assert orm.pop("item_id") == f"orm-{name}" and orm.pop("cache_key") == f"k-orm-{name}"
        assert core == orm
    assert rows["core-1"]["label"] == "toxic" and rows["core-2"]["cached"] is True
    partial = rows["partial"]
    assert (partial["tokens_in"], partial["cost_usd"], partial["cached"], partial["rules"]) == (0, 0.0, False, ())


def test_run_lifecycle_through_core(ws: Workspace) -> None:
    """start, resume, digest, finish (with its timeline event) and claim, as the replay and batch paths use them."""
    _replay(ws)  # the incident, the target and the prompt version are in the log
    with ws.store().connect() as conn:
        before = q.runs_for(conn, INCIDENT_ID)[0]
    with ws.store().transaction() as conn:
        run = q.start_run(
            conn,
            incident_id=INCIDENT_ID,
            target_key=before.target_key,
            target_name=before.target_name,
            prompt_version=before.prompt_version,
            prompt_path=before.prompt_path,
            item_set="all",
            author="tester",
            items_total=3,
        )
        assert run.id > before.id and run.status is RunStatus.RUNNING and run.summary == {} and run.repeats == 1
        q.set_items_digest(conn, run.id, "abc")
        rq.set_repeats(conn, run.id, 3)
        resumed = q.resume_run(conn, run.id, 5)
    assert (resumed.items_total, resumed.items_digest, resumed.repeats) == (5, "abc", 3)
    q.finish_run(ws.store(), run.id, RunStatus.INTERRUPTED, {"items": 0}, None, "tester", "run stopped")
    with ws.store().connect() as conn:
        stored = q.get_run(conn, run.id)
        assert stored is not None and stored.status is RunStatus.INTERRUPTED and stored.summary == {"items": 0}
        assert q.find_resumable(conn, INCIDENT_ID, run.target_key, run.prompt_version, "all") == stored
        assert q.reusable_run(conn, INCIDENT_ID, run.target_key, run.prompt_version, "all", "abc") is None
    event = iq.events(ws.store(), INCIDENT_ID)[0]
    assert (event.kind, event.summary, event.data["run_id"]) == ("run", "run stopped", run.id)
    assert [r.id for r in q.claim_runs(ws.store(), [run.id, before.id], RunStatus.INTERRUPTED, RunStatus.FAILED)] == [
        run.id
    ]


def test_a_replay_imports_no_orm(workspace: Path) -> None:
    """`modtui replay` reads and writes the log through Core statements: SQLModel's ORM (~0.1-0.2 s of imports and
    table classes before the first call) is never imported; twice, the second an unchanged re-run served from the log."""
    code = (
        "import sys\n"
        "from modtui.cli import main\n"
        f"for _ in range(2):\n"
        f"    try:\n"
        f"        main([ '--workspace', {str(workspace)!r}, 'replay', {INCIDENT_ID!r}, '-m', 'offline',"
        " '-p', 'toxicity/candidate', '--format', 'json'])\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "orm = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlmodel' or m.startswith(('sqlalchemy.orm', "
        "'modtui.store.tables')))\n"
        "print('ORM', orm, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ORM []" in done.stderr and done.stdout.count('"status": "completed"') == 4


@pytest.mark.parametrize("table", ["result", "run", "item"])
def test_columns_are_read_from_the_log(ws: Workspace, table: str) -> None:
    from modtui.store import sql

    with ws.store().connect() as conn:
        names = sql.columns(conn, table)
        assert names == tuple(conn.execute(text(f"SELECT * FROM {table} WHERE 1 = 0")).keys()) and names
        assert sql.is_complete(conn, table, [dict.fromkeys(names)])
        assert not sql.is_complete(conn, table, [dict.fromkeys(names[1:])])


def test_columns_are_read_again_for_a_log_opened_again_after_a_migration(tmp_path: Path) -> None:
    from modtui.store import sql
    from modtui.store.db import open_store
    from modtui.store.migrations import MIGRATIONS

    path = str(tmp_path / "log.db")
    old = open_store(path, migrate_upto=[name for name, _ in MIGRATIONS].index("m006_result_provenance"))
    with old.connect() as conn:
        assert "rules_json" not in sql.columns(conn, "result")
    old.close()
    new = open_store(path)
    with new.connect() as conn:
        assert "rules_json" in sql.columns(conn, "result")
    new.close()
