"""The replay service and engine (`modtui.services.replay.plan/execute/report`) on a tmp workspace.

Real SDK adapters talk to tests/fakeserver.py on 127.0.0.1 (fixtures `fake_server` / `served_workspace`
in conftest.py); the offline target needs nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from oracles import binomtest

from modtui.errors import ConfigError, UsageError
from modtui.domain.verdict import ErrorType
from modtui.providers.base import Reply
from modtui.replay.events import RunProgress
from modtui.services import replay as svc
from modtui.services import runs as runs_svc
from modtui.store import runs as q
from modtui.store.incidents import events
from modtui.workspace import Workspace

from reliability_support import wait_for

try:
    from conftest import toxicity_model, until
    from fakeserver import FakeRequest, FakeServer, Fault
    from queued_provider import Answer, Call, QueuedModel, label_json, never
except ImportError:  # tests/ imported as a package
    from tests.conftest import toxicity_model, until
    from tests.fakeserver import FakeRequest, FakeServer, Fault
    from tests.queued_provider import Answer, Call, QueuedModel, label_json, never

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"
ITEM_IDS = [f"i-{n:02d}" for n in range(1, 13)]


@pytest.fixture
def ws(ws: Workspace, db_url: str | None) -> Workspace:
    """conftest's `ws` (SQLite or a fresh PostgreSQL database), its log migrated.
    (db_url is named here because pytest parametrizes only what an overriding fixture requests itself.)"""
    ws.store()  # open and migrate the log here: tests that time a replay time the replay alone
    return ws


def tune(ws: Workspace, name: str, **fields: Any) -> None:
    """Change a target's settings for this test (concurrency, rate, retries...)."""
    ws.config.targets[name] = ws.config.targets[name].model_copy(update=fields)


def add_incident(
    ws: Workspace, incident_id: str, n: int, content: Callable[[int], str] = lambda i: f"post {i}"
) -> None:
    """A copy of INC-T1's header with `n` generated items (even ones expected toxic)."""
    folder = ws.incidents_dir / incident_id
    folder.mkdir()
    header = (ws.incidents_dir / INC / "incident.yaml").read_text().replace(f"id: {INC}", f"id: {incident_id}")
    (folder / "incident.yaml").write_text(header)
    lines = [
        json.dumps(
            {"id": f"b-{i:04d}", "content": content(i), "expected": "toxic" if i % 2 == 0 else "ok", "observed": "ok"}
        )
        for i in range(n)
    ]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")


async def replay(
    ws: Workspace, incident: str = INC, *, on_progress: Callable[[RunProgress], None] | None = None, **spec: Any
) -> tuple[svc.ReplayPlan, svc.ReplayReport]:
    rspec = svc.ReplaySpec(incident, **spec)
    plan = svc.plan(ws, rspec)
    return plan, await svc.execute(ws, plan, rspec, on_progress)


def by_prompt(rep: svc.ReplayReport) -> dict[str, svc.RunReport]:
    return {r.prompt_label: r for r in rep.runs}


def results(ws: Workspace, run_id: int) -> list[Any]:
    with ws.store().read() as session:
        return q.results_of(session, run_id)


def run_row(ws: Workspace, run_id: int) -> Any:
    with ws.store().read() as session:
        return q.get_run(session, run_id)


def cells(m: Any) -> tuple[int, int, int, int, int]:
    return m.tp, m.fp, m.fn, m.tn, m.no_verdict


# ------------------------------------------------------------------ offline end to end
async def test_offline_end_to_end(ws: Workspace) -> None:
    plan, rep = await replay(ws, prompts=[CANDIDATE])
    assert [t.name for t in plan.targets] == ["offline"]  # production model `offline` → the built-in target
    prod, cand = by_prompt(rep)["toxicity/production"], by_prompt(rep)["toxicity/candidate"]
    for r in (prod, cand):
        rows = results(ws, r.run.id)
        assert sorted(row.item_id for row in rows) == ITEM_IDS  # every item exactly one result
        assert all(row.outcome == "label" and not row.cached for row in rows)
        assert run_row(ws, r.run.id).status == "completed"
    # By hand from the policies: production flags idiot/moron/threats except the condemning quote (i-10), so the
    # three self-deprecating posts are false positives; the candidate's self_deprecation exception clears them.
    assert cells(prod.metrics) == (4, 3, 0, 5, 0)
    assert (prod.metrics.precision, prod.metrics.recall) == (pytest.approx(4 / 7), 1.0)
    assert prod.metrics.f1 == pytest.approx(2 * (4 / 7) / (4 / 7 + 1))
    assert prod.flips is None and prod.baseline_run_id is None
    assert cells(cand.metrics) == (4, 0, 0, 8, 0) and cand.metrics.f1 == 1.0
    assert cand.baseline_run_id == prod.run.id
    assert cand.flips is not None
    assert (cand.flips.fixed, cand.flips.regressed) == (("i-01", "i-02", "i-03"), ())
    assert cand.flips.mcnemar_p == pytest.approx(0.25) == pytest.approx(binomtest(3, 3, 0.5).pvalue)
    assert prod.metrics.cost_usd == 0.0 and prod.metrics.latency_p50_ms is not None
    timeline = [e.summary for e in events(ws.store(), INC) if e.kind == "run"]
    assert len(timeline) == 2 and any("fixed 3 regressed 0" in s for s in timeline)


async def test_replies_come_in_the_order_they_were_enqueued(ws: Workspace, queued: QueuedModel) -> None:
    """One call at a time, so the queue's order is the items' order; what each item was asked is in history."""
    tune(ws, "gpt-mini", concurrency=1)
    queued.enqueue(
        Reply(error_type=ErrorType.SERVER, error="Error code: 500"),
        "no label in this reply",
        label_json("toxic", rationale="queued third"),
    )
    _, rep = await replay(ws, targets=["gpt-mini"])
    by_item = {r.item_id: r for r in results(ws, rep.runs[0].run.id)}
    first, second, third = (call.content for call in queued.history[:3])
    items = {i.content: i.id for i in _items(ws)}
    assert (by_item[items[first]].outcome, by_item[items[first]].error_type) == ("error", "server")
    assert by_item[items[second]].outcome == "parse_error"
    assert (by_item[items[third]].outcome, by_item[items[third]].label) == ("label", "toxic")
    assert queued.count() == 12 and all(c.target == "gpt-mini" and "<content>" in c.user_text for c in queued.history)


async def test_progress_events(ws: Workspace) -> None:
    seen: list[tuple[int, int, int]] = []
    _, rep = await replay(ws, on_progress=lambda p: seen.append((p.run_id, p.done, p.total)))
    run_id = rep.runs[0].run.id
    assert [s for s in seen if s[0] == run_id][-1] == (run_id, 12, 12)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


async def test_items_failing_and_guard(ws: Workspace) -> None:
    _, failing = await replay(ws, items="failing")
    assert sorted(r.item_id for r in results(ws, failing.runs[0].run.id)) == ["i-01", "i-02", "i-03", "i-04", "i-05"]
    assert cells(failing.runs[0].metrics) == (2, 3, 0, 0, 0)
    _, guard = await replay(ws, items="guard")
    assert sorted(r.item_id for r in results(ws, guard.runs[0].run.id)) == ["i-06", "i-07", "i-08", "i-09", "i-10"]
    assert cells(guard.runs[0].metrics) == (1, 0, 0, 4, 0)
    assert guard.runs[0].run.id != failing.runs[0].run.id  # a different item set is a different run


# ------------------------------------------------------------------ model targets (answered in-process), cache
async def test_model_targets_flips_and_mcnemar(ws: Workspace, queued: QueuedModel) -> None:
    tune(ws, "claude", concurrency=8)
    _, rep = await replay(ws, prompts=[CANDIDATE], targets=["gpt-mini", "claude"])
    assert queued.count("gpt-mini") == 24 and queued.count("claude") == 24
    for target in ("gpt-mini", "claude"):
        runs = {r.prompt_label: r for r in rep.runs if r.run.target_name == target}
        prod, cand = runs["toxicity/production"], runs["toxicity/candidate"]
        # conftest.toxicity_model: production flags every idiot/moron/threat; the candidate clears the
        # self-deprecating posts (fixed i-01..03) and the moron not addressed to anyone (regressed i-11).
        assert cells(prod.metrics) == (4, 4, 0, 4, 0)
        assert cells(cand.metrics) == (3, 1, 1, 7, 0)
        assert cand.baseline_run_id == prod.run.id
        assert cand.flips.fixed == ("i-01", "i-02", "i-03") and cand.flips.regressed == ("i-11",)
        assert cand.flips.mcnemar_p == pytest.approx(binomtest(3, 4, 0.5).pvalue) == pytest.approx(0.625)
        assert prod.metrics.latency_p50_ms is not None and prod.metrics.tokens_in > 0
    gpt = [r for r in rep.runs if r.run.target_name == "gpt-mini"][0]
    tokens_in, tokens_out = gpt.metrics.tokens_in, gpt.metrics.tokens_out
    assert gpt.metrics.cost_usd == pytest.approx((tokens_in * 0.15 + tokens_out * 0.60) / 1e6)


async def test_cache_second_replay_makes_no_requests(ws: Workspace, queued: QueuedModel) -> None:
    _, first = await replay(ws, prompts=[CANDIDATE], targets=["gpt-mini"])
    assert queued.count() == 24
    _, second = await replay(ws, prompts=[CANDIDATE], targets=["gpt-mini"])
    assert queued.count() == 24  # zero new requests
    assert {r.run.id for r in second.runs}.isdisjoint({r.run.id for r in first.runs})  # new runs, same answers
    for before, after in zip(first.runs, second.runs):
        rows = results(ws, after.run.id)
        assert len(rows) == 12 and all(r.cached for r in rows)
        assert all(r.latency_ms is None and r.cost_usd == 0.0 for r in rows)
        assert cells(after.metrics) == cells(before.metrics) and after.metrics.cached == 12
    assert second.runs[1].flips.fixed == first.runs[1].flips.fixed
    _, third = await replay(ws, prompts=[CANDIDATE], targets=["gpt-mini"], use_cache=False)
    assert queued.count() == 48  # --no-cache calls again
    assert not any(r.cached for r in results(ws, third.runs[0].run.id))


async def test_cache_key_follows_prompt_and_target_config(ws: Workspace, queued: QueuedModel) -> None:
    await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 12
    await replay(ws, prompts=[CANDIDATE], targets=["gpt-mini"])  # production cached, candidate new
    assert queued.count() == 24
    tune(ws, "gpt-mini", params={"temperature": 0.5, "max_tokens": 200})  # a param change is a new config
    await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 36 and queued.history[-1].request.params["temperature"] == 0.5
    tune(ws, "gpt-mini", concurrency=2, timeout=30.0)  # limits are not part of the reply's identity
    await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 36


async def test_failed_calls_are_recorded_and_not_cached(ws: Workspace, queued: QueuedModel) -> None:
    def respond(call: Call) -> Answer:
        if "nice day" in call.content:
            return Reply(error_type=ErrorType.BAD_REQUEST, error="Error code: 400")
        if "lovely" in call.content:
            return Reply(error_type=ErrorType.BAD_RESPONSE, error="the body was not JSON")
        return toxicity_model(call)

    queued.respond = respond
    _, rep = await replay(ws, targets=["gpt-mini"])
    m = rep.runs[0].metrics
    assert m.items == 12 and m.no_verdict == 2 and m.no_verdict_by_type == {"bad_request": 1, "bad_response": 1}
    assert run_row(ws, rep.runs[0].run.id).status == "completed"  # every item has its recorded result
    queued.respond = toxicity_model
    _, again = await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 14  # only the two failed items are called again; the rest come from the cache
    assert again.runs[0].metrics.no_verdict == 0


def _as_served(rows: list[Any]) -> dict[str, dict[str, Any]]:
    """A run's results by item, without what differs between two runs of the same replies (run id, time)."""
    return {r.item_id: {k: v for k, v in asdict(r).items() if k not in ("run_id", "created_at")} for r in rows}


async def test_an_unchanged_rerun_is_served_from_the_log_as_the_cache_would_serve_it(
    ws: Workspace, queued: QueuedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued.respond = lambda call: (
        Reply(error_type="server", error="Error code: 500") if "nice day" in call.content else toxicity_model(call)
    )
    await replay(ws, targets=["gpt-mini"])
    queued.respond = toxicity_model
    copies = []
    original_copy = q.copy_results
    monkeypatch.setattr(q, "copy_results", lambda *a, **k: copies.append(original_copy(*a, **k)) or copies[-1])
    _, copied = await replay(ws, targets=["gpt-mini"])
    assert copies == [11]  # one INSERT … SELECT for the 11 cached replies; the failed call is not in the cache
    assert queued.count() == 13 and queued.history[-1].content == "have a nice day"  # called again, alone
    monkeypatch.setattr(svc, "RESULTS_VERSION", "another")  # results read another way: nothing copied,
    _, rendered = await replay(ws, targets=["gpt-mini"])  # every prompt rendered and looked up in the cache
    assert copies == [11] and queued.count() == 13
    served, looked_up = (_as_served(results(ws, rep.runs[0].run.id)) for rep in (copied, rendered))
    assert not served.pop("i-07")["cached"] and looked_up.pop("i-07")["cached"]  # called in the copied run
    assert served == looked_up and len(served) == 11
    assert all(r["cached"] and r["latency_ms"] is None and r["cost_usd"] == 0.0 for r in served.values())
    assert cells(copied.runs[0].metrics) == cells(rendered.runs[0].metrics) == (4, 4, 0, 4, 0)


async def test_a_rerun_after_an_items_metadata_changed_renders_it_again(ws: Workspace, queued: QueuedModel) -> None:
    prompt = ws.prompts_dir / "toxicity" / "production.yaml"
    prompt.write_text(
        prompt.read_text().replace(
            "<content>{{ content }}</content>", "<content>{{ content }}</content> ({{ meta.locale }})"
        )
    )
    await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 12
    items = ws.incidents_dir / INC / "items.jsonl"
    items.write_text(items.read_text().replace('"meta": {"locale": "en-US"}', '"meta": {"locale": "en-GB"}', 1))
    await replay(ws, targets=["gpt-mini"])
    assert queued.count() == 13 and "(en-GB)" in queued.history[-1].request.messages.user


# ------------------------------------------------------------------ interruption and resume
async def test_interrupted_replay_resumes_only_missing_items(ws: Workspace, queued: QueuedModel) -> None:
    queued.respond = lambda call: never() if "nice day" in call.content else toxicity_model(call)  # i-07 hangs
    eleven = asyncio.Event()
    spec = svc.ReplaySpec(INC, targets=["gpt-mini"])
    plan = svc.plan(ws, spec)
    run_id = plan.jobs[0].run_id
    task = asyncio.create_task(svc.execute(ws, plan, spec, lambda p: p.done >= 11 and eleven.set()))
    await asyncio.wait_for(eleven.wait(), 10)
    other = Workspace.open(ws.root, ws.db)  # another process's view of the same log
    try:  # results are committed while the run goes on (bench/replay.py measures how soon)
        await until(lambda: len(results(other, run_id)) == 11)
        assert run_row(other, run_id).status == "running"
    finally:
        other.close()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = run_row(ws, run_id)
    assert row.status == "interrupted"
    assert sorted(r.item_id for r in results(ws, run_id)) == [i for i in ITEM_IDS if i != "i-07"]
    assert queued.count() == 12
    queued.respond = toxicity_model
    plan2, rep = await replay(ws, targets=["gpt-mini"])
    assert plan2.jobs[0].run_id == run_id and len(plan2.jobs[0].todo) == 1
    assert queued.count() == 13 and [c.content for c in queued.history].count("have a nice day") == 2
    assert run_row(ws, run_id).status == "completed" and rep.runs[0].metrics.items == 12
    assert sorted(r.item_id for r in results(ws, run_id)) == ITEM_IDS


async def test_cancel_before_any_result(ws: Workspace, queued: QueuedModel) -> None:
    queued.hold()
    spec = svc.ReplaySpec(INC, targets=["gpt-mini"])
    plan = svc.plan(ws, spec)
    task = asyncio.create_task(svc.execute(ws, plan, spec))
    await queued.wait_in_flight(4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert run_row(ws, plan.jobs[0].run_id).status == "interrupted" and results(ws, plan.jobs[0].run_id) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # on SQLite: test_shared_log.py
def test_two_processes_replaying_into_one_log(ws: Workspace, fake_server: FakeServer) -> None:
    """Two `modtui replay` processes at once on the same incident, target and prompts, into one PostgreSQL log.

    The second either resumes the runs the first started or reads the first's replies from the cache; either
    way every run ends completed with exactly one result per item, and both print the same metrics.
    (The same race on SQLite: test_shared_log.py::test_the_same_replay_twice_at_once.)
    """
    add_incident(ws, "INC-TWO", 40, lambda i: f"post {i} moron" if i % 3 == 0 else f"post {i}")
    fake_server.hold(after=0)  # no call is answered until both processes are calling: they race for real
    modtui = str(Path(sys.executable).with_name("modtui"))
    cmd = [
        modtui,
        "--workspace",
        str(ws.root),
        "--db",
        ws.db,
        "replay",
        "INC-TWO",
        "-m",
        "gpt-mini",
        "-p",
        CANDIDATE,
        "--format",
        "json",
    ]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    # more calls in flight than one process makes (gpt-mini: concurrency 4): both are calling
    wait_for(lambda: fake_server.count() > 4 or any(p.poll() is not None for p in procs), timeout=60)
    fake_server.release()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    docs = [json.loads(out) for out, _ in outputs]
    numbers = [[(r["prompt"], r["tp"], r["fp"], r["fn"], r["tn"], r["no_verdict"]) for r in d["runs"]] for d in docs]
    assert numbers[0] == numbers[1]
    run_ids = {r["run_id"] for d in docs for r in d["runs"]}
    for run_id in run_ids:
        rows = results(ws, run_id)
        assert len(rows) == 40 and len({r.item_id for r in rows}) == 40
        assert all(r.outcome == "label" for r in rows)
        assert run_row(ws, run_id).status == "completed"
    assert 80 <= fake_server.count() <= 160  # each item × prompt called at least once, at most once per process


# ------------------------------------------------------------------ auth and secrets
async def test_auth_fault_stops_that_target_early(ws: Workspace, queued: QueuedModel) -> None:
    add_incident(ws, "INC-AUTH", 60, lambda i: f"post {i} moron" if i % 2 == 0 else f"post {i}")
    rejected = Reply(error_type=ErrorType.AUTH, error="Error code: 401 - Incorrect API key provided")
    queued.respond = lambda call: rejected if call.target == "gpt-mini" else toxicity_model(call)
    _, rep = await replay(ws, "INC-AUTH", prompts=[CANDIDATE], targets=["gpt-mini", "claude"])
    assert queued.count("gpt-mini") <= 4 < 120  # one wave of in-flight calls (its concurrency), not every item
    gpt = [r for r in rep.runs if r.run.target_name == "gpt-mini"]
    claude = [r for r in rep.runs if r.run.target_name == "claude"]
    messages = {r.run.error for r in gpt}
    assert len(messages) == 1  # one clear message for the target
    message = messages.pop()
    assert "MODTUI_TEST_OPENAI_KEY" in message and "gpt-mini" in message
    assert all(run_row(ws, r.run.id).status == "failed" for r in gpt)
    assert all(run_row(ws, r.run.id).status == "completed" and r.metrics.items == 60 for r in claude)
    assert queued.count("claude") == 120


async def test_rerun_after_fixing_the_key_completes_the_same_run(ws: Workspace, queued: QueuedModel) -> None:
    queued.respond = lambda call: Reply(error_type=ErrorType.AUTH, error="Error code: 401")
    _, failed = await replay(ws, targets=["gpt-mini"])
    run_id = failed.runs[0].run.id
    assert run_row(ws, run_id).status == "failed"
    first_wave = queued.count()
    assert 1 <= first_wave <= 4  # gpt-mini's concurrency
    queued.respond = toxicity_model  # the key is fixed
    plan, rep = await replay(ws, targets=["gpt-mini"])
    assert plan.jobs[0].run_id == run_id
    assert queued.count() == first_wave + 12  # the calls that failed on the key are made again
    assert run_row(ws, run_id).status == "completed" and rep.runs[0].metrics.no_verdict == 0
    assert cells(rep.runs[0].metrics) == (4, 4, 0, 4, 0)


async def test_missing_key_stops_an_anthropic_target(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before any run starts or any call is made, naming the variable (the SDK's own default key, set
    here, is not used instead)."""
    monkeypatch.delenv("MODTUI_TEST_ANTHROPIC_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-sdk-default-0123456789")
    with pytest.raises(ConfigError) as refused:
        await replay(ws, targets=["gpt-mini", "claude"])
    assert fake_server.count() == 0 and "$MODTUI_TEST_ANTHROPIC_KEY is not set" in str(refused.value)
    assert str(refused.value).count("\n") == 0 and refused.value.exit_code == 2
    with ws.store().read() as session:
        assert q.runs_for(session) == []  # no run was started, so none can look completed


async def test_canary_key_never_reaches_the_log_or_report(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "sk-test-CANARY-7f3a9c2e5b1d4086"
    monkeypatch.setenv("MODTUI_TEST_OPENAI_KEY", canary)
    ws.close()
    fresh = Workspace.open(ws.root, ws.db)  # the scrubber reads the env when the engine starts
    tune(fresh, "gpt-mini", max_retries=0)
    shown = f"{canary[:10]}***{canary[-6:]}"

    def echo(request: FakeRequest) -> Any:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        content = request.user_text
        if "nice day" in content:
            return Fault("bad_request", message=f"Invalid request with key {key}")
        if "lovely" in content:
            return Fault("server", message=f"upstream rejected {key[:12]}…{key[-8:]}", should_retry=False)
        if "moron" in content:  # the model itself repeats the key in its answer
            return json.dumps({"label": "toxic", "confidence": 0.9, "rationale": f"as {key} said"})
        if "ref" in content:
            return f"I'm sorry, I can't share {shown}"
        return "toxic" if "idiot" in content or "hurt" in content or "destroy" in content else "ok"

    fake_server.responder = echo
    try:
        _, rep = await replay(fresh, targets=["gpt-mini"])
        report = json.dumps(rep.as_dict())
        lines = json.dumps(svc.item_lines(fresh, rep, _items(fresh)))
        errors = {r.error_type for r in results(fresh, rep.runs[0].run.id) if r.error_type}
        assert errors == {"bad_request", "server"}  # the echoing calls did happen
        fake_server.responder = lambda r: Fault("auth", message=f"Incorrect API key provided: {canary}")
        _, rep2 = await replay(fresh, targets=["gpt-mini"], use_cache=False)
        report += json.dumps(rep2.as_dict())
        assert "[REDACTED]" in (rep2.runs[0].run.error or "")
        open_files = stored_bytes(fresh)  # the log is still open
    finally:
        fresh.close()
    for text in (report, lines):
        assert canary not in text and canary[:12] not in text and canary[-8:] not in text
    if fresh.db.startswith("postgresql"):
        closed_files = {}
    else:
        assert "modtui.db-wal" in open_files  # WAL mode: recent writes live in the -wal file until a checkpoint
        closed_files = stored_bytes(fresh)
    for name, data in [*open_files.items(), *closed_files.items()]:
        assert canary.encode() not in data and canary[:12].encode() not in data, name
        assert canary[-8:].encode() not in data, name


def stored_bytes(ws: Workspace) -> dict[str, bytes]:
    """Everything the log holds: the SQLite files, or on PostgreSQL every row of every table as text."""
    if not ws.db.startswith("postgresql"):
        return {p.name: p.read_bytes() for p in (ws.root / ".modtui").iterdir()}
    from sqlalchemy import inspect, text

    with ws.store().engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return {
            t: "\n".join(r[0] for r in conn.execute(text(f'SELECT CAST(t AS text) FROM "{t}" t'))).encode()
            for t in tables
        }


def _items(ws: Workspace) -> list[Any]:
    return ws.load_incident(INC).items


# ------------------------------------------------------------------ concurrency and rate
# How close to the ideal a replay gets (wall vs calls × latency ÷ C) is measured by bench/replay.py, not here.
async def test_concurrency_overlaps_calls_up_to_the_target_limit(ws: Workspace, queued: QueuedModel) -> None:
    add_incident(ws, "INC-16", 16)
    tune(ws, "gpt-mini", concurrency=8)
    queued.hold()
    task = asyncio.create_task(replay(ws, "INC-16", targets=["gpt-mini"]))
    await queued.wait_in_flight(8)  # eight calls wait at once
    queued.release()
    await task
    assert queued.max_in_flight == 8 and queued.count() == 16


async def test_concurrency_option_overrides_target(ws: Workspace, queued: QueuedModel) -> None:
    add_incident(ws, "INC-16", 16)
    tune(ws, "gpt-mini", concurrency=1)
    queued.hold()
    task = asyncio.create_task(replay(ws, "INC-16", targets=["gpt-mini"], concurrency=16))
    await queued.wait_in_flight(16)  # the target alone would allow one
    queued.release()
    await task
    assert queued.max_in_flight == 16 and queued.count() == 16


async def test_requests_per_minute_limits_rate(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 a minute: a burst of 4, then one call each 0.1 s, so the 12th call goes out at least 0.8 s after the
    first. Stamped where each call leaves the engine's rate limiter (a sleep never ends early, so a loaded machine
    only spreads them further); the server's own stamps bunch up when its thread waits for a core."""
    from modtui.replay.ratelimit import RateLimiter

    stamps: list[float] = []
    acquire = RateLimiter.acquire

    async def stamped(self: RateLimiter) -> None:
        await acquire(self)
        stamps.append(time.monotonic())

    monkeypatch.setattr(RateLimiter, "acquire", stamped)
    tune(ws, "gpt-mini", concurrency=8, requests_per_minute=600)
    await replay(ws, targets=["gpt-mini"])
    assert len(stamps) == len(fake_server.requests) == 12
    assert stamps[-1] - stamps[0] >= 0.7  # never faster than the budget (0.8 s, less the first call's own step)


# ------------------------------------------------------------------ baselines
async def test_baseline_observed(ws: Workspace) -> None:
    _, rep = await replay(ws, targets=["gpt-mini"], prompts=[CANDIDATE], baseline="observed")
    prod, cand = by_prompt(rep)["toxicity/production"], by_prompt(rep)["toxicity/candidate"]
    # observed verdicts exist for i-01..i-10; production's recorded verdicts were wrong on i-01..i-05
    assert prod.baseline_run_id is None and cand.baseline_run_id is None
    assert (prod.flips.fixed, prod.flips.regressed) == (("i-04", "i-05"), ("i-10",))
    assert prod.flips.mcnemar_p == pytest.approx(binomtest(2, 3, 0.5).pvalue) == pytest.approx(1.0)
    assert (cand.flips.fixed, cand.flips.regressed) == (("i-01", "i-02", "i-03", "i-04", "i-05"), ("i-10",))
    assert cand.flips.mcnemar_p == pytest.approx(binomtest(5, 6, 0.5).pvalue) == pytest.approx(14 / 64)
    assert cand.flips.paired == 10  # i-11 and i-12 have no recorded verdict


async def test_baseline_run_id(ws: Workspace) -> None:
    _, offline = await replay(ws)  # the offline rules baseline: TP4 FP3 TN5
    base_id = offline.runs[0].run.id
    _, rep = await replay(ws, targets=["gpt-mini"], prompts=[CANDIDATE], baseline=str(base_id))
    prod, cand = by_prompt(rep)["toxicity/production"], by_prompt(rep)["toxicity/candidate"]
    assert prod.baseline_run_id == base_id == cand.baseline_run_id
    assert (prod.flips.fixed, prod.flips.regressed) == ((), ("i-10",))  # the model misses the quote exception
    assert (cand.flips.fixed, cand.flips.regressed) == (("i-01", "i-02", "i-03"), ("i-10", "i-11"))
    assert cand.flips.mcnemar_p == pytest.approx(binomtest(3, 5, 0.5).pvalue)
    # the same numbers from the runs service
    _, _, flips = runs_svc.compare_runs(ws, base_id, cand.run.id)
    assert (flips.fixed, flips.regressed) == (cand.flips.fixed, cand.flips.regressed)


@pytest.mark.parametrize("baseline", ["nonsense", "999", "-1", ""])
def test_bad_baseline(ws: Workspace, baseline: str) -> None:
    with pytest.raises(UsageError, match="baseline"):
        svc.plan(ws, svc.ReplaySpec(INC, baseline=baseline))


async def test_baseline_run_of_another_incident_is_refused(ws: Workspace) -> None:
    add_incident(ws, "INC-OTHER", 4)
    _, other = await replay(ws, "INC-OTHER")
    with pytest.raises(UsageError, match="INC-OTHER"):
        svc.plan(ws, svc.ReplaySpec(INC, baseline=str(other.runs[0].run.id)))


@pytest.mark.parametrize(
    "spec, message",
    [
        (dict(items="some"), "--items"),
        (dict(targets=["gpt-mni"]), "gpt-mini"),  # a suggestion
        (dict(prompts=["prompts/toxicity/nope.yaml"]), "nope"),
    ],
)
def test_bad_spec_is_a_usage_error(ws: Workspace, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        svc.plan(ws, svc.ReplaySpec(INC, **spec))
