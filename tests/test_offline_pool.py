"""A big offline replay is decided in worker processes, one per core (replay.workers), and recorded exactly as an
in-process one: the same results, committed through the same engine path; a worker that dies costs nothing but
time (this process decides what it could not)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_samples

import offline_corpus
from modtui.replay import engine, workers
from reliability_support import db_path, query

INCIDENT = "INC-POOL"


@pytest.fixture
def corpus_ws(tmp_path: Path, migrated_log: Path) -> Path:
    ws = copy_samples(tmp_path / "ws", migrated_log, ("prompts",))
    offline_corpus.write_incident(ws, INCIDENT, 1_500)
    return ws


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Pools open from 500 items in slices of 128, on two cores whatever the machine; the pools the engine opened."""
    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 500)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    monkeypatch.setattr(engine, "POOL_SLICE", 128)
    pools: list[Any] = []
    real = workers.open_pool
    monkeypatch.setattr(engine, "open_pool", lambda items: pools.append(real(items)) or pools[-1])
    return pools


@pytest.fixture
def ahead(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Head starts (services.head_start) counted: started, slices the engine took from them, closed."""
    counts = {"started": 0, "taken": 0, "closed": 0}
    start, take, close = workers.HeadStart.__init__, workers.HeadStart.take, workers.HeadStart.close

    def started(self: Any, *args: Any) -> None:
        counts["started"] += 1
        start(self, *args)

    def taken(self: Any, *args: Any) -> Any:
        future = take(self, *args)
        counts["taken"] += future is not None
        return future

    def closed(self: Any) -> None:
        counts["closed"] += 1
        close(self)

    monkeypatch.setattr(workers.HeadStart, "__init__", started)
    monkeypatch.setattr(workers.HeadStart, "take", taken)
    monkeypatch.setattr(workers.HeadStart, "close", closed)
    return counts


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
    corpus_ws: Path, run_cli: Any, opened: list[Any], ahead: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    early = replay(run_cli, corpus_ws)  # a fresh incident: decided while it is checked (the head start)
    assert ahead == {"started": 1, "taken": 12, "closed": 1} and not opened, "every slice decided ahead"
    pooled = replay(run_cli, corpus_ws)  # the log has the incident: nothing to check, the engine's own pool
    assert ahead["started"] == 1 and opened and opened[-1] is not None
    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 10**9)
    here = replay(run_cli, corpus_ws)
    assert opened[-1] is None, "the last replay was decided in this process"
    assert early["status"] == pooled["status"] == here["status"] == "completed" and pooled["items"] == 1_500
    a, b, c = (results(corpus_ws, run["run_id"]) for run in (early, pooled, here))
    assert len(a) == 1_500 and a == b == c
    assert {k: pooled[k] for k in ("tp", "fp", "fn", "tn")} == {k: here[k] for k in ("tp", "fp", "fn", "tn")}


def test_a_head_start_of_other_contents_is_not_recorded(
    corpus_ws: Path, run_cli: Any, opened: list[Any], ahead: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contents a worker read ahead are compared with the checked items' slice by slice: a slice that differs
    (here one item of the sixth slice, as if the file changed between the two reads) is decided again from the
    checked items, and the head start's slices left are dropped."""
    import dataclasses

    from modtui.services import head_start

    real = head_start.start

    def read_before_a_change(ws: Any, targets: Any, items: str, files: Any) -> Any:
        lines = files.items.decode().split("\n")
        item = json.loads(lines[5 * 128 + 3])
        lines[5 * 128 + 3] = json.dumps({**item, "content": "I will hurt you"})
        return real(ws, targets, items, dataclasses.replace(files, items="\n".join(lines).encode()))

    monkeypatch.setattr(head_start, "start", read_before_a_change)
    early = replay(run_cli, corpus_ws)
    # slices 0-5 and the few sent after them before the sixth's contents were found to differ; never the 12
    assert ahead["started"] == ahead["closed"] == 1 and 6 <= ahead["taken"] <= 5 + 2 * 2
    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 10**9)
    here = replay(run_cli, corpus_ws)
    assert results(corpus_ws, early["run_id"]) == results(corpus_ws, here["run_id"])


def test_a_failed_check_stops_the_head_start(
    corpus_ws: Path, run_cli: Any, opened: list[Any], ahead: dict[str, int]
) -> None:
    items = corpus_ws / "incidents" / INCIDENT / "items.jsonl"
    with items.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "bad", "content": "x", "expected": "no such label"}\n')
    result = run_cli(corpus_ws, "replay", INCIDENT, "-m", "offline", "--format", "json")
    assert result.exit_code == 2 and "items.jsonl:1501" in result.stderr
    assert ahead == {"started": 1, "taken": 0, "closed": 1}
    assert not db_path(corpus_ws).exists() or not query(db_path(corpus_ws), "SELECT count(*) FROM result")[0][0]


def _dying(*args: Any) -> list[Any]:
    os._exit(3)  # a worker killed mid-slice (out of memory, a kill -9)


def test_a_dead_worker_leaves_its_slices_to_this_process(
    corpus_ws: Path, run_cli: Any, opened: list[Any], ahead: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "decide", _dying)
    monkeypatch.setattr(workers, "decide_lines", _dying)
    run = replay(run_cli, corpus_ws)  # the head start's workers die
    again = replay(run_cli, corpus_ws)  # the engine's own pool's
    assert ahead["started"] == 1 and opened[-1] is not None
    for done in (run, again):
        rows = results(corpus_ws, done["run_id"])
        assert done["status"] == "completed" and len(rows) == 1_500
        assert {r[0] for r in rows.values()} == {"label"}  # every item decided, none an internal error


def test_a_replay_leaves_the_garbage_collector_as_it_found_it(workspace: Path, run_cli: Any) -> None:
    """`modtui replay` pauses the cyclic collector while it loads, then freezes what it loaded out of its sight
    (modtui.collector.collector_spared): afterwards, in a process that goes on (the tests', a script's), it is enabled
    and nothing stays frozen, whether the replay ended or failed."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    ok = run_cli(workspace, "replay", "INC-T1", "-m", "offline", "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    assert gc.isenabled() and gc.get_freeze_count() == 0
    bad = run_cli(workspace, "replay", "INC-T1", "-m", "offline", "-p", "prompts/no/such.yaml")
    assert bad.exit_code == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0


# Test-only: `modtui replay` held inside the incident's check (after the head start has forked its workers), until a
# signal ends it; POOL_MIN_ITEMS lowered for the 1,500-item corpus. Nothing in modtui is changed.
HELD_IN_CHECK = """
import sys, time
from modtui.replay import workers
from modtui.workspace import Workspace

workers.POOL_MIN_ITEMS = 500

def held(self, *args, **kwargs):
    print("checking", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.01)

Workspace.load_incident = held
from modtui.cli import main
sys.argv[0] = "modtui"
main()
"""


def children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(p) for p in (task / "children").read_text().split()}
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists() or os.cpu_count() == 1, reason="Linux /proc, 2+ cores")
def test_sigterm_while_the_head_start_runs_leaves_no_worker(corpus_ws: Path) -> None:
    """SIGTERM while the incident is still checked (the head start's workers deciding): the replay stops before any
    run, as Ctrl-C does there, exit 143, and its workers end with it."""
    import signal
    import subprocess
    import sys
    import time

    from reliability_support import cli_env, wait_for

    argv = [sys.executable, "-c", HELD_IN_CHECK, "--workspace", str(corpus_ws), "replay", INCIDENT, "-m", "offline"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "checking", proc.communicate()[1]
    wait_for(lambda: len(children(proc.pid)) >= 2, timeout=30)  # the pool's workers
    forked = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted before any call" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in forked) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in forked), "a worker outlived the replay"
    assert not db_path(corpus_ws).exists() or not query(db_path(corpus_ws), "SELECT count(*) FROM run")[0][0]
