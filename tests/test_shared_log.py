"""Issue 7, concurrent use of one SQLite log: two replays writing at once (two CLI processes; the TUI's replay
service in-process beside a CLI process) never fail with `database is locked` and lose no result; and the
*same* replay started twice at once resumes one run, where every item ends with exactly one result.

The fake server answers no call until both replays have calls in flight (`FakeServer.hold`), so their writes
overlap however long each takes to start (one loads the Anthropic SDK, the other OpenAI's).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reliability_support import (
    add_incident,
    db_path,
    query,
    results_by_item,
    run,
    runs,
    set_test_keys,
    spawn,
    wait_for,
    write_targets,
)

try:
    from conftest import until
    from fakeserver import FakeServer
except ImportError:  # tests/ imported as a package
    from tests.conftest import until
    from tests.fakeserver import FakeServer

CANDIDATE = "prompts/toxicity/candidate.yaml"
N = 150


@pytest.fixture
def shared(workspace: Path, fake_server: FakeServer) -> Path:
    write_targets(workspace, fake_server.url, concurrency=16)
    for name in ("INC-A", "INC-B"):
        add_incident(
            workspace, name, N, lambda i, name=name: f"{name} item-{i:05d} " + ("you moron" if i % 3 else "hi")
        )
    assert run(workspace, "incident", "list").returncode == 0  # the log exists before the race
    fake_server.hold(after=0)
    return workspace


def calling(server: FakeServer, *incidents: str) -> bool:
    """Each of `incidents` has a call in flight (on hold)."""
    return all(server.count(match=f"{name} item-") for name in incidents)


def release_when_both_call(server: FakeServer, procs: list[subprocess.Popen[str]], *incidents: str) -> None:
    wait_for(lambda: calling(server, *incidents) or any(p.poll() is not None for p in procs), timeout=60)
    server.release()


def check_log(root: Path, expected_runs: int) -> None:
    db = db_path(root)
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"
    all_runs = runs(db)
    assert len(all_runs) == expected_runs and {r[3] for r in all_runs} == {"completed"}, all_runs
    for run_id, *_ in all_runs:
        assert len(results_by_item(db, run_id)) == N  # nothing lost, nothing doubled


def test_two_cli_replays_into_one_log(shared: Path, fake_server: FakeServer) -> None:
    first = spawn(shared, "replay", "INC-A", "-m", "gpt-mini", "-p", CANDIDATE, "-j", "16")
    second = spawn(shared, "replay", "INC-B", "-m", "claude", "-p", CANDIDATE, "-j", "16")
    release_when_both_call(fake_server, [first, second], "INC-A", "INC-B")
    outs = [p.communicate(timeout=120) for p in (first, second)]
    for proc, (_, err) in zip((first, second), outs):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    assert fake_server.count() == 4 * N
    check_log(shared, 4)


async def test_tui_service_and_a_cli_replay_into_one_log(
    shared: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the TUI does (the replay service on the event loop) while a CLI process writes the same log."""
    import asyncio

    set_test_keys(monkeypatch)

    from modtui.services import replay as svc
    from modtui.workspace import Workspace

    cli = spawn(shared, "replay", "INC-B", "-m", "claude", "-p", CANDIDATE, "-j", "16")
    ws = Workspace.open(shared)
    try:
        spec = svc.ReplaySpec("INC-A", prompts=[CANDIDATE], targets=["gpt-mini"], concurrency=16, author="tui")
        plan = await asyncio.to_thread(svc.plan, ws, spec)

        async def release_when_both_call() -> None:
            await until(lambda: calling(fake_server, "INC-A", "INC-B") or cli.poll() is not None, timeout=60)
            fake_server.release()

        rep, _ = await asyncio.gather(svc.execute(ws, plan, spec), release_when_both_call())
        assert [r.metrics.items for r in rep.runs] == [N, N]
    finally:
        ws.close()
    _, err = await asyncio.to_thread(cli.communicate, timeout=120)
    assert cli.returncode == 0 and "locked" not in err, err
    check_log(shared, 4)


def test_the_same_replay_twice_at_once(shared: Path, fake_server: FakeServer) -> None:
    """Two people start the same replay: both work on the same running runs; each item keeps one result."""
    args = ("replay", "INC-A", "-m", "gpt-mini", "-p", CANDIDATE, "-j", "8", "--format", "json")
    procs = [spawn(shared, *args) for _ in range(2)]
    wait_for(lambda: fake_server.count() > 8 or any(p.poll() is not None for p in procs), timeout=60)  # both call
    fake_server.release()
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert "locked" not in err
    check_log(shared, 2)  # one run per target × prompt, shared by both processes
    run_ids = [sorted(r["run_id"] for r in json.loads(out)["runs"]) for out, _ in outs]
    assert run_ids[0] == run_ids[1]  # the second resumed the first's running runs
    assert 2 * N <= fake_server.count() <= 4 * N  # some calls may be made twice, never a third time
