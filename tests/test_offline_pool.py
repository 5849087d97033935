"""A big offline replay is decided in worker processes, one per core (replay.workers), and recorded exactly as an
in-process one: the same results, committed through the same engine path; a worker that dies costs nothing but
time (this process decides what it could not)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import offline_corpus
from modtui.replay import engine, workers
from reliability_support import db_path, query

ROOT = Path(__file__).resolve().parent.parent
INCIDENT = "INC-POOL"


@pytest.fixture
def corpus_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "prompts", ws / "prompts")
    offline_corpus.write_incident(ws, INCIDENT, 1_500)
    return ws


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Pools open from 500 items in slices of 128, on two cores whatever the machine; the pools opened."""
    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 500)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    monkeypatch.setattr(engine, "POOL_SLICE", 128)
    pools: list[Any] = []
    real = workers.open_pool
    monkeypatch.setattr(engine, "open_pool", lambda items: pools.append(real(items)) or pools[-1])
    return pools


def replay(run_cli: Any, ws: Path) -> dict[str, Any]:
    result = run_cli(ws, "replay", INCIDENT, "-m", "offline", "--no-cache", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["runs"][0]


def results(ws: Path, run_id: int) -> dict[str, tuple[Any, ...]]:
    """item id → every column of its result but the run, when it was recorded and how long it took."""
    columns = [r[1] for r in query(db_path(ws), "PRAGMA table_info(result)")]
    shown = [c for c in columns if c not in ("run_id", "created_at", "latency_ms")]
    rows = query(db_path(ws), f"SELECT {', '.join(shown)} FROM result WHERE run_id = ?", run_id)
    return {r[0]: r[1:] for r in rows}


def test_a_big_replay_is_decided_in_worker_processes_with_the_same_results(
    corpus_ws: Path, run_cli: Any, opened: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled = replay(run_cli, corpus_ws)
    assert opened and opened[-1] is not None, "the replay was decided in worker processes"
    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 10**9)
    here = replay(run_cli, corpus_ws)
    assert opened[-1] is None, "the second replay was decided in this process"
    assert pooled["status"] == here["status"] == "completed" and pooled["items"] == 1_500
    a, b = results(corpus_ws, pooled["run_id"]), results(corpus_ws, here["run_id"])
    assert len(a) == 1_500 and a == b
    assert {k: pooled[k] for k in ("tp", "fp", "fn", "tn")} == {k: here[k] for k in ("tp", "fp", "fn", "tn")}


def _dying(provider: Any, template: Any, contents: Sequence[str]) -> list[Any]:
    os._exit(3)  # a worker killed mid-slice (out of memory, a kill -9)


def test_a_dead_worker_leaves_its_slices_to_this_process(
    corpus_ws: Path, run_cli: Any, opened: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "decide", _dying)
    run = replay(run_cli, corpus_ws)
    assert opened[-1] is not None
    rows = results(corpus_ws, run["run_id"])
    assert run["status"] == "completed" and len(rows) == 1_500
    assert {r[0] for r in rows.values()} == {"label"}  # every item decided, none an internal error


def test_a_replay_leaves_the_garbage_collector_as_it_found_it(workspace: Path, run_cli: Any) -> None:
    """`modtui replay` pauses the cyclic collector while it loads, then freezes what it loaded out of its sight
    (cli.replay.collector_spared): afterwards, in a process that goes on (the tests', a script's), it is enabled
    and nothing stays frozen, whether the replay ended or failed."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    ok = run_cli(workspace, "replay", "INC-T1", "-m", "offline", "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    assert gc.isenabled() and gc.get_freeze_count() == 0
    bad = run_cli(workspace, "replay", "INC-T1", "-m", "offline", "-p", "prompts/no/such.yaml")
    assert bad.exit_code == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0
