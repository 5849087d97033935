"""A prompt that renders on load but not for one item's meta: that item gets a typed result, the run goes on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from modtui.services import replay as svc
from modtui.store import runs as q
from modtui.workspace import Workspace


def _unrenderable_first_item(workspace: Path) -> dict:
    """The candidate prompt now adds 1 to meta.reports, and the first item's reports is a word: only it fails."""
    prompt = workspace / "prompts/toxicity/candidate.yaml"
    text = prompt.read_text(encoding="utf-8")
    prompt.write_text(
        text.replace("{{ content }}", "{{ content }} (reports: {{ (meta.reports or 0) + 1 }})", 1), encoding="utf-8"
    )
    items = workspace / "incidents/INC-T1/items.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["meta"] = {**first.get("meta", {}), "reports": "many"}  # str + int fails only for this item
    items.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")
    return first


def test_item_that_cannot_be_rendered_is_a_recorded_bad_request(served_workspace: Path, fake_server) -> None:
    """(On a target that is sent the rendered prompt: the offline rules baseline reads the policy block and the
    content, never the rendered text, so it renders nothing.)"""
    workspace = served_workspace
    first = _unrenderable_first_item(workspace)
    ws = Workspace.open(workspace)
    spec = svc.ReplaySpec("INC-T1", prompts=["toxicity/candidate"], targets=["gpt-mini"], author="t")
    plan = svc.plan(ws, spec)
    rep = asyncio.run(svc.execute(ws, plan, spec))
    candidate = next(r for r in rep.runs if r.prompt_label == "toxicity/candidate")
    with ws.store().read() as session:
        rows = {r.item_id: r for r in q.results_of(session, candidate.run.id)}
    assert len(rows) == len(plan.items)
    bad = rows[first["id"]]
    assert (bad.outcome, bad.error_type) == ("error", "bad_request")
    assert "template could not be rendered" in (bad.detail or "")
    assert candidate.run.status == "completed"
    assert all(r.outcome == "label" for item_id, r in rows.items() if item_id != first["id"])
    ws.close()


def test_a_log_that_refuses_writes_stops_the_replay_with_the_error(
    served_workspace: Path, fake_server, monkeypatch
) -> None:
    """A failed batch write must not be lost in silence: the replay stops and says why."""
    import pytest

    from modtui.errors import StoreError
    from modtui.replay import engine

    real = engine.q.insert_results
    calls = []

    def refuse(*args, **kwargs) -> None:  # the first batch fails, later ones would succeed
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("log: the log refused a value: disk I/O error")
        real(*args, **kwargs)

    fake_server.latency = 0.1  # one call at a time: the writer flushes mid-run
    ws = Workspace.open(served_workspace)
    spec = svc.ReplaySpec("INC-T1", targets=["gpt-mini"], concurrency=1, author="t")
    plan = svc.plan(ws, spec)
    monkeypatch.setattr(engine.q, "insert_results", refuse)
    with pytest.raises(StoreError, match="refused a value"):
        asyncio.run(svc.execute(ws, plan, spec))
    assert fake_server.count() < len(plan.items)  # stopped calling what could not be kept
    ws.close()


def test_nul_in_a_reply_is_stored_replaced(served_workspace: Path, fake_server) -> None:
    try:
        from fakeserver import Reply
    except ImportError:
        from tests.fakeserver import Reply
    fake_server.add_rule("", Reply(text='{"label": "ok", "rationale": "a\\u0000b"} trailing\x00'))
    ws = Workspace.open(served_workspace)
    spec = svc.ReplaySpec("INC-T1", targets=["gpt-mini"], author="t")
    plan = svc.plan(ws, spec)
    rep = asyncio.run(svc.execute(ws, plan, spec))
    with ws.store().read() as session:
        rows = q.results_of(session, rep.runs[0].run.id)
    assert rows and all(r.rationale == "a\ufffdb" and r.raw_text.endswith("trailing\ufffd") for r in rows)
    ws.close()


def test_a_dry_run_plans_no_call_for_an_item_that_cannot_be_rendered(served_workspace: Path, fake_server) -> None:
    """The plan renders and keys items as the engine does: the item the replay records as bad_request is no call."""
    _unrenderable_first_item(served_workspace)
    ws = Workspace.open(served_workspace)
    spec = svc.ReplaySpec("INC-T1", prompts=["toxicity/candidate"], targets=["gpt-mini"], author="t")
    planned = {p.prompt.label: p for p in svc.read_only_plan(ws, spec)}
    candidate, production = planned["toxicity/candidate"], planned["toxicity/production"]
    assert (candidate.items, candidate.cached, len(candidate.to_call)) == (12, 0, 11)
    assert (production.items, production.cached, len(production.to_call)) == (12, 0, 12)
    assert fake_server.count() == 0
    ws.close()
