"""Batch replays (`replay --batch`, `runs poll`) through the real SDKs against tests/fakeserver.py's Batch APIs.

On SQLite and on PostgreSQL (conftest `db_url`). The numbers a batch replay ends with are those of a live replay
of the same items (the fake model is deterministic), so each test compares against the live figures of
test_replay_engine: production (TP, FP, FN, TN) = (4, 4, 0, 4), candidate (3, 1, 1, 7), fixed i-01..03,
regressed i-11.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from modtui.services import batch as batch_svc
from modtui.services import replay as svc
from modtui.store import runs as q
from modtui.store.incidents import events
from modtui.store.tables import BatchRow, CacheRow, ResultRow
from modtui.workspace import Workspace

try:
    from fakeserver import FakeServer, Fault, _BatchError
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeServer, Fault, _BatchError

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"
ITEM_IDS = [f"i-{n:02d}" for n in range(1, 13)]


async def submit(ws: Workspace, target: str, **spec: Any) -> tuple[svc.ReplayPlan, batch_svc.Submission]:
    rspec = svc.ReplaySpec(INC, prompts=[CANDIDATE], targets=[target], author="tester", **spec)
    plan = svc.plan(ws, rspec)
    return plan, await batch_svc.submit(ws, plan, rspec)


def results(ws: Workspace, run_id: int) -> list[ResultRow]:
    with ws.store().read() as session:
        return q.results_of(session, run_id)


def status(ws: Workspace, run_id: int) -> str:
    with ws.store().read() as session:
        return q.get_run(session, run_id).status  # type: ignore[union-attr]


def run_events(ws: Workspace) -> list[Any]:
    return [e for e in events(ws.store(), INC) if e.kind == "run"]


def cells(m: Any) -> tuple[int, int, int, int, int]:
    return m.tp, m.fp, m.fn, m.tn, m.no_verdict


def by_prompt(reports: list[svc.ReplayReport]) -> dict[str, svc.RunReport]:
    return {r.prompt_label: r for rep in reports for r in rep.runs}


@pytest.mark.parametrize("target, api", [("gpt-mini", "openai"), ("claude", "anthropic")])
async def test_submit_returns_at_once_then_poll_writes_what_a_live_replay_would(
    ws: Workspace, fake_server: FakeServer, target: str, api: str
) -> None:
    fake_server.batch.hold = True
    plan, sub = await submit(ws, target)
    run_ids = [j.run_id for j in plan.jobs]
    assert not sub.failed, sub.failed
    assert [b.requests for b in sub.batches] == [24] and sub.batches[0].run_ids == sorted(run_ids)
    assert fake_server.count() == 0  # nothing answered yet: the batch is held
    assert all(status(ws, r) == "submitted" and results(ws, r) == [] for r in run_ids)
    submitted = [e for e in events(ws.store(), INC) if e.kind == "batch"]
    assert len(submitted) == 1 and sub.batches[0].provider_batch_id in submitted[0].summary

    waiting = await batch_svc.poll(ws)  # still in progress: nothing written
    assert [b.provider_status for b in waiting.batches] == ["in_progress"] and waiting.finished == []
    assert all(status(ws, r) == "submitted" and results(ws, r) == [] for r in run_ids)

    fake_server.batch.hold = False
    done = await batch_svc.poll(ws)
    assert [b.status for b in done.batches] == ["ended"] and not done.errors
    assert fake_server.count(api=api) == 24  # each item × prompt answered once, inside the batch
    runs = by_prompt(done.finished)
    prod, cand = runs["toxicity/production"], runs["toxicity/candidate"]
    assert cells(prod.metrics) == (4, 4, 0, 4, 0) and cells(cand.metrics) == (3, 1, 1, 7, 0)
    assert cand.baseline_run_id == prod.run.id
    assert (cand.flips.fixed, cand.flips.regressed) == (("i-01", "i-02", "i-03"), ("i-11",))
    for run_id in run_ids:
        rows = results(ws, run_id)
        assert sorted(r.item_id for r in rows) == ITEM_IDS and all(r.outcome == "label" for r in rows)
        assert all(not r.cached and r.latency_ms is None for r in rows)  # a batch call has no latency of its own
        assert status(ws, run_id) == "completed"
    assert len(run_events(ws)) == 2 and any("fixed 3 regressed 1" in e.summary for e in run_events(ws))
    if target == "gpt-mini":  # prices 0.15 / 0.60 per Mtok, at the default batch discount of one half
        m = prod.metrics
        assert m.cost_usd == pytest.approx(0.5 * (m.tokens_in * 0.15 + m.tokens_out * 0.60) / 1e6) and m.cost_usd > 0

    # the replies are in the cache: a live replay of the same prompts makes no call
    fake_server.reset_counts()
    _, live = await _live(ws, target)
    assert fake_server.count() == 0 and all(r.metrics.cached == 12 for r in live.runs)


async def _live(ws: Workspace, target: str) -> tuple[svc.ReplayPlan, svc.ReplayReport]:
    spec = svc.ReplaySpec(INC, prompts=[CANDIDATE], targets=[target], author="tester")
    plan = svc.plan(ws, spec)
    return plan, await svc.execute(ws, plan, spec)


async def test_polling_twice_writes_nothing_twice(ws: Workspace, fake_server: FakeServer) -> None:
    plan, _ = await submit(ws, "gpt-mini")
    first = await batch_svc.poll(ws)
    assert len(first.finished) == 1
    before = _log_counts(ws)
    again = await batch_svc.poll(ws)
    assert again.batches == [] and again.finished == []
    assert _log_counts(ws) == before
    assert fake_server.batch.count("GET", "/v1/files") == 1  # the output was fetched once


def _log_counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.store().read() as session:
        return (
            len(session.exec(select(ResultRow)).all()),
            len(session.exec(select(CacheRow)).all()),
            len(events(ws.store(), INC)),
        )


async def test_crash_after_results_before_the_batch_is_marked(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies right after writing a batch's results: the next poll fetches again, adds nothing twice."""
    plan, _ = await submit(ws, "claude")
    real_flush = batch_svc.Recorder.flush

    def flush_then_die(self: batch_svc.Recorder) -> None:
        real_flush(self)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(batch_svc.Recorder, "flush", flush_then_die)
    with pytest.raises(KeyboardInterrupt):
        await batch_svc.poll(ws)
    assert all(len(results(ws, j.run_id)) == 12 and status(ws, j.run_id) == "submitted" for j in plan.jobs)
    monkeypatch.setattr(batch_svc.Recorder, "flush", real_flush)
    rep = await batch_svc.poll(ws)
    assert [b.status for b in rep.batches] == ["ended"] and len(rep.finished) == 1
    assert all(len(results(ws, j.run_id)) == 12 and status(ws, j.run_id) == "completed" for j in plan.jobs)
    assert len(run_events(ws)) == 2


async def test_crash_after_the_batch_is_marked_before_the_runs_finish(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, _ = await submit(ws, "gpt-mini")
    monkeypatch.setattr(batch_svc, "_finish_group", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt("killed")))
    with pytest.raises(KeyboardInterrupt):
        await batch_svc.poll(ws)
    monkeypatch.undo()
    with ws.store().read() as session:
        assert [b.status for b in session.exec(select(BatchRow))] == ["ended"]
    rep = await batch_svc.poll(ws)  # no batch left to ask about, but its runs are finished now
    assert rep.batches == [] and len(rep.finished) == 1
    assert all(status(ws, j.run_id) == "completed" and len(results(ws, j.run_id)) == 12 for j in plan.jobs)
    assert len(run_events(ws)) == 2


async def test_failed_and_expired_requests_are_typed_results_and_not_cached(
    ws: Workspace, fake_server: FakeServer
) -> None:
    fake_server.add_rule("nice day", Fault("server"))
    fake_server.batch.expire_after = 22  # the last 2 of 24 requests expire
    plan, _ = await submit(ws, "gpt-mini")
    rep = await batch_svc.poll(ws)
    assert [b.provider_status for b in rep.batches] == ["expired"]
    types = [r.error_type for j in plan.jobs for r in results(ws, j.run_id) if r.error_type]
    assert sorted(types) == ["expired", "expired", "server", "server"]
    assert all(status(ws, j.run_id) == "completed" for j in plan.jobs)  # every item has its recorded result
    fake_server.clear_rules()
    fake_server.batch.expire_after = None
    fake_server.reset_counts()
    await _live(ws, "gpt-mini")
    assert fake_server.count() == 4  # only the four failures are called again; the rest come from the cache


async def test_a_batch_that_fails_validation_fails_its_runs(ws: Workspace, fake_server: FakeServer) -> None:
    fake_server.batch.fail_validation = "model 'gpt-4o-mini' is not available for batch (fake)"
    plan, _ = await submit(ws, "gpt-mini")
    rep = await batch_svc.poll(ws)
    assert [b.status for b in rep.batches] == ["failed"] and "not available for batch" in rep.errors[0]
    for job in plan.jobs:
        assert status(ws, job.run_id) == "failed"
        assert {r.error_type for r in results(ws, job.run_id)} == {"bad_request"}


@pytest.mark.parametrize("target, api", [("gpt-mini", "openai"), ("claude", "anthropic")])
async def test_sdk_errors_of_submit_and_poll_are_named_by_the_adapter(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, target: str, api: str
) -> None:
    """The Batch API refuses the key: the submission fails its target's runs, a poll keeps the batch waiting; both
    say the SDK's error as the live adapter classifies it."""

    def refuse(*_: Any) -> Any:
        raise _BatchError(401, api, "invalid x-api-key (fake)")

    with monkeypatch.context() as patch:
        patch.setattr(fake_server.batch, "_route", refuse)
        plan, sub = await submit(ws, target)
    assert sub.batches == [] and len(sub.failed) == 1
    assert sub.failed[0].startswith(f"batch submission for target '{target}' failed: AuthenticationError: ")
    assert "invalid x-api-key (fake)" in sub.failed[0] and all(status(ws, j.run_id) == "failed" for j in plan.jobs)

    await submit(ws, target)
    monkeypatch.setattr(fake_server.batch, "_route", refuse)
    rep = await batch_svc.poll(ws)
    assert [b.status for b in rep.batches] == ["submitted"], rep.as_dict()
    assert len(rep.errors) == 1 and rep.errors[0].startswith(f"batch 1 ({target}): AuthenticationError: ")
    assert "invalid x-api-key (fake)" in rep.errors[0]


async def test_cached_replies_are_served_at_submit_and_only_the_rest_is_batched(
    ws: Workspace, fake_server: FakeServer
) -> None:
    await _live(ws, "claude")  # production and candidate replies are now cached
    fake_server.reset_counts()
    plan, sub = await submit(ws, "claude")
    assert sub.batches == [] and sub.finished is not None
    assert all(status(ws, j.run_id) == "completed" for j in plan.jobs) and fake_server.batch.calls == []


# ------------------------------------------------------------------ the CLI
def test_cli_batch_replay_then_poll(ws: Workspace, run_cli: Any, fake_server: FakeServer) -> None:
    db = ["--db", ws.db]
    result = run_cli(ws.root, *db, "replay", INC, "-m", "gpt-mini", "-p", CANDIDATE, "--batch", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [b["requests"] for b in doc["batches"]] == [24] and "modtui runs poll" in result.stderr
    run_id = doc["batches"][0]["runs"][0]
    assert run_cli(ws.root, *db, "runs", "show", str(run_id), "--format", "json").exit_code == 0

    polled = run_cli(ws.root, *db, "runs", "poll", str(run_id), "--format", "json")
    assert polled.exit_code == 0, polled.stderr
    finished = json.loads(polled.stdout)["finished"]
    assert {(r["prompt"], r["tp"], r["fp"], r["fn"], r["tn"]) for r in finished} == {
        ("toxicity/production", 4, 4, 0, 4),
        ("toxicity/candidate", 3, 1, 1, 7),
    }
    table = run_cli(ws.root, *db, "runs", "poll")
    assert table.exit_code == 0 and "no batch waiting" in table.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "offline"], "has no batch API"),
        (["-m", "gpt-mini", "--min-recall", "0.5"], "gates need results"),
    ],
)
def test_cli_batch_refusals(ws: Workspace, run_cli: Any, args: list[str], message: str) -> None:
    result = run_cli(ws.root, "--db", ws.db, "replay", INC, *args, "--batch")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_cli_batch_without_a_key_fails_the_target(
    ws: Workspace, run_cli: Any, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODTUI_TEST_ANTHROPIC_KEY")
    result = run_cli(ws.root, "--db", ws.db, "replay", INC, "-m", "claude", "--batch")
    assert result.exit_code == 2 and "MODTUI_TEST_ANTHROPIC_KEY is not set" in result.stderr
    assert fake_server.batch.calls == []


def test_cli_batch_replay_of_a_golden_set(ws: Workspace, run_cli: Any, fake_server: FakeServer) -> None:
    db = ["--db", ws.db]
    assert run_cli(ws.root, *db, "golden", "add", INC, "--set", "fixes").exit_code == 0
    result = run_cli(ws.root, *db, "replay", "--golden", "fixes", "-m", "claude", "--batch", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [b["requests"] for b in json.loads(result.stdout)["batches"]] == [12]
    polled = run_cli(ws.root, *db, "runs", "poll", "--format", "json")
    assert polled.exit_code == 0, polled.stderr
    (run,) = json.loads(polled.stdout)["finished"]
    assert (run["status"], run["items"], run["tp"], run["fp"], run["fn"], run["tn"]) == ("completed", 12, 4, 4, 0, 4)
