"""Issue 7, kill and resume: `modtui replay` as a real process, killed with SIGKILL at seeded random points
and interrupted with SIGINT, against a fake provider that holds the calls after a chosen one unanswered
(`FakeServer.hold`), so each signal lands mid-replay with calls in flight on any machine, without timing.

After every kill the log passes `PRAGMA integrity_check`; the same command resumes the same runs and calls
the provider only for items without a result (no finished call is repeated); the final log holds exactly
one result per item. Ctrl-C marks the runs `interrupted`, prints what finished and exits 130.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
from pathlib import Path

import pytest

from reliability_support import (
    add_incident,
    db_path,
    interrupt,
    query,
    results_by_item,
    run,
    runs,
    spawn,
    wait_for,
    write_targets,
)

try:
    from fakeserver import FakeServer
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeServer

INC = "INC-KILL"
ITEMS = 100
CANDIDATE = "prompts/toxicity/candidate.yaml"
ARGS = ("replay", INC, "-m", "gpt-mini", "-p", CANDIDATE, "-j", "4")
ITEM = re.compile(r"item-(\d{5})")


@pytest.fixture
def killable(workspace: Path, fake_server: FakeServer) -> Path:
    write_targets(workspace, fake_server.url, concurrency=4)
    add_incident(workspace, INC, ITEMS, lambda i: f"item-{i:05d} " + ("you moron" if i % 3 else "nice day"))
    return workspace


def spawn_held(root: Path, server: FakeServer, answered: int, *args: str) -> subprocess.Popen[str]:
    """`modtui ARGS` once `answered` calls were answered and the next one is held in flight (it cannot finish)."""
    server.hold(after=answered)
    proc = spawn(root, *args)
    wait_for(lambda: server.count() > answered or proc.poll() is not None, timeout=60)
    assert proc.poll() is None, proc.communicate()[1]
    return proc


def integrity(db: Path) -> str:
    return query(db, "PRAGMA integrity_check")[0][0]


def done_calls(db: Path) -> set[tuple[str, str]]:
    """(prompt version, item number) of every result in the log."""
    rows = query(db, "SELECT run.prompt_version, result.item_id FROM result JOIN run ON run.id = result.run_id")
    return {(version, item.removeprefix("r-")) for version, item in rows}


def requested(server: FakeServer, versions: dict[str, str]) -> list[tuple[str, str]]:
    """(prompt version, item number) of every call the server saw since its counters were reset."""
    out = []
    for record in server.requests:
        text = record.request.text if record.request else record.user_text
        version = versions["candidate"] if "self_deprecation" in text else versions["production"]
        out.append((version, ITEM.search(record.user_text)[1]))  # type: ignore[index]
    return out


def prompt_versions(db: Path) -> dict[str, str]:
    rows = query(db, "SELECT prompt_version, prompt_path FROM run")
    return {("candidate" if "candidate" in path else "production"): version for version, path in rows}


def test_sigkill_at_random_points_then_resume(killable: Path, fake_server: FakeServer) -> None:
    db = db_path(killable)
    rng = random.Random(20261120)  # calls made in all when each kill lands: early, middle, late
    points = [rng.randrange(lo, hi) for lo, hi in ((10, 60), (70, 120), (130, 2 * ITEMS - 20))]
    run_ids: set[int] | None = None
    calls_seen = 0
    for kill, point in enumerate(points):
        fake_server.reset_counts()
        before = done_calls(db)
        answered = point - calls_seen
        proc = spawn_held(killable, fake_server, answered, *ARGS)
        if kill == 1:  # results are committed as they arrive, while the replay runs: the log gets every answer
            wait_for(lambda: len(done_calls(db) - before) >= answered, timeout=30)  # noqa: B023  called now
        committed = done_calls(db)  # the early and late kills land as the last answers are being written
        proc.kill()  # SIGKILL: no handler runs, nothing is flushed
        fake_server.release()
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
        assert integrity(db) == "ok"
        assert committed <= done_calls(db), "a result committed before the kill is gone"
        versions = prompt_versions(db)
        calls = requested(fake_server, versions)
        assert not set(calls) & before, "a call whose result was already in the log was made again"
        in_flight = len(calls) - answered  # the held calls: never answered
        assert 0 < in_flight <= 4, in_flight  # -j 4
        if kill == 1:  # only what was in flight is lost
            assert done_calls(db) - before == set(calls) - set(calls[answered:]), (point, len(calls))
        calls_seen += len(calls)
        ids = {r[0] for r in runs(db)}
        assert len(ids) == 2 and (run_ids is None or ids == run_ids), "the same two runs, resumed"
        run_ids = ids
        assert {r[3] for r in runs(db)} == {"running"}  # a killed process cannot mark its runs

    # the same command again: it finishes, calling exactly the items that have no result
    missing = {(v, f"{n:05d}") for v in prompt_versions(db).values() for n in range(ITEMS)} - done_calls(db)
    assert missing, "the kills should leave work to do"
    fake_server.reset_counts()
    final = run(killable, *ARGS, "--format", "json")
    assert final.returncode == 0, final.stderr
    calls = requested(fake_server, prompt_versions(db))
    assert len(calls) == len(missing) and set(calls) == missing
    assert {r[0] for r in runs(db)} == run_ids and {r[3] for r in runs(db)} == {"completed"}
    for run_id in run_ids:
        assert len(results_by_item(db, run_id)) == ITEMS  # exactly one result per item, no duplicates
    assert all(r["items"] == ITEMS and r["status"] == "completed" for r in json.loads(final.stdout)["runs"])
    assert integrity(db) == "ok"


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_sigint_marks_interrupted_and_prints_what_finished(killable: Path, fake_server: FakeServer, fmt: str) -> None:
    db = db_path(killable)
    proc = spawn_held(killable, fake_server, 60, *ARGS, "--format", fmt)
    code, out, err = interrupt(proc, signal.SIGINT)  # what Ctrl-C sends
    fake_server.release()
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted: finished results are kept" in err
    assert {r[3] for r in runs(db)} == {"interrupted"}
    done = {run_id: len(results_by_item(db, run_id)) for run_id, *_ in runs(db)}
    assert 0 < sum(done.values()) < 2 * ITEMS
    for run_id, count in done.items():  # the summary of what finished, per run, on stderr
        assert re.search(rf"^run {run_id} \(gpt-mini × \S+\) interrupted: {count} results, ", err, re.M), err
    if fmt == "json":
        doc = json.loads(out)  # a script still gets the document it asked for
        assert doc["interrupted"] is True and {r["run_id"]: r["items"] for r in doc["runs"]} == done
    else:
        assert out.splitlines()[0].split()[:3] == ["RUN_ID", "TARGET", "PROMPT"] and "interrupted" in out
    assert integrity(db) == "ok"

    fake_server.reset_counts()
    again = run(killable, *ARGS)
    assert again.returncode == 0, again.stderr
    assert fake_server.count() == 2 * ITEMS - sum(done.values())
    assert {r[3] for r in runs(db)} == {"completed"} and len(runs(db)) == 2


def test_sigterm_is_like_ctrl_c_and_resumes(killable: Path, fake_server: FakeServer) -> None:
    """SIGTERM (a CI job cancelled, a closed SSH session) is handled as Ctrl-C: exit 143, runs `interrupted`
    with what finished; the same command resumes them."""
    db = db_path(killable)
    proc = spawn_held(killable, fake_server, 40, *ARGS)
    code, _, err = interrupt(proc, signal.SIGTERM)
    fake_server.release()
    assert code == 143 and "Traceback" not in err, err
    assert "interrupted: finished results are kept" in err
    assert {r[3] for r in runs(db)} == {"interrupted"}
    assert integrity(db) == "ok"
    done = sum(len(results_by_item(db, run_id)) for run_id, *_ in runs(db))
    fake_server.reset_counts()
    assert run(killable, *ARGS).returncode == 0
    assert fake_server.count() == 2 * ITEMS - done and {r[3] for r in runs(db)} == {"completed"}
