"""A replay's report counts a run's results in the log (store.tally, a GROUP BY) when nothing pairs them item by
item: it must equal the report built from every result read back and scored (services.scoring.scored_run), on both
databases, for runs of every kind of result, and fall back to that path when the log's items are not the plan's."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from modtui.services import replay as svc
from modtui.services.scoring import scored_run
from modtui.store import runs as q
from modtui.store.tally import run_tally
from modtui.timeutil import now_iso
from modtui.workspace import Workspace

INC = "INC-T1"
OUTCOMES = ["label"] * 6 + ["parse_error", "refusal", "truncated", "error"]


def random_results(item_ids: list[str], rng: random.Random) -> dict[str, dict[str, Any]]:
    out = {}
    for item_id in item_ids:
        outcome = rng.choice(OUTCOMES)
        out[item_id] = {
            "outcome": outcome,
            # a label stored with a non-label outcome is not a verdict
            "label": rng.choice(["toxic", "ok", None]) if outcome == "label" or rng.random() < 0.3 else None,
            "error_type": rng.choice(["rate_limit", "server", None]) if outcome == "error" else None,
            "confidence": rng.choice([None, 0.5, 0.7, 0.7, 0.9, 1.0, rng.random()]),  # ties and distinct scores
            "latency_ms": rng.choice([None, rng.uniform(1, 900)]),
            "cost_usd": rng.choice([0.0, 1.0, 1e16, rng.uniform(0, 0.01)]),  # a sum that depends on its order
            "tokens_in": rng.randrange(500),
            "tokens_out": rng.randrange(50),
            "cached": rng.random() < 0.3,
        }
    return out


def write(ws: Workspace, run_id: int, results: dict[str, dict[str, Any]]) -> None:
    defaults = {"label": None, "error_type": None, "confidence": None, "latency_ms": None, "cost_usd": 0.0}
    defaults |= {"tokens_in": 0, "tokens_out": 0, "cached": False, "created_at": now_iso()}
    rows = [{"run_id": run_id, "item_id": i, **defaults, **columns} for i, columns in results.items()]
    with ws.store().write() as session:
        q.insert_results(session, rows, [])


def both_reports(
    ws: Workspace, plan: svc.ReplayPlan, spec: svc.ReplaySpec, monkeypatch: pytest.MonkeyPatch, read_back: int = 0
) -> tuple[Any, Any]:
    """The report as made (`read_back`: how many runs it reads back result by result), then every run read back."""
    calls = []
    with monkeypatch.context() as patched:
        patched.setattr(svc, "scored_run", lambda *args: calls.append(args) or scored_run(*args))
        tallied = svc.report(ws, plan, spec)
    assert len(calls) == read_back
    scored = svc.report(ws, dataclasses.replace(plan, gold_in_log=False), spec)  # every result read back
    return tallied, scored


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_logs_count_gives_the_report_scoring_every_result_gives(
    ws: Workspace, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = svc.ReplaySpec(INC, targets=("offline",), author="t")
    plan = svc.plan(ws, spec)
    rng = random.Random(seed)
    ids = [i.id for i in plan.items]
    results = random_results(rng.sample(ids, len(ids) - 1), rng)  # one item without a result
    results["gone-1"] = {"outcome": "label", "label": "toxic", "cost_usd": 5.0}  # an item no longer in the incident
    write(ws, plan.jobs[0].run_id, results)
    with ws.store().connect() as conn:
        counted = run_tally(conn, INC, plan.jobs[0].run_id)
    assert sum(g.count for g in counted.groups) == len(ids) - 1 and len(counted.groups) < len(ids) + 5
    tallied, scored = both_reports(ws, plan, spec, monkeypatch)
    assert tallied.runs[0].metrics == scored.runs[0].metrics
    assert tallied.runs[0].sweep == scored.runs[0].sweep
    assert tallied.as_dict() == scored.as_dict()
    assert tallied.runs[0].metrics.items == len(ids) - 1


def test_every_result_alike_and_a_run_without_results(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = svc.ReplaySpec(INC, targets=("offline",), author="t")
    plan = svc.plan(ws, spec)
    tallied, scored = both_reports(ws, plan, spec, monkeypatch)  # no result yet: no metrics to speak of, no sweep
    assert tallied.as_dict() == scored.as_dict() and tallied.runs[0].sweep is None
    write(ws, plan.jobs[0].run_id, {i.id: {"outcome": "label", "label": "ok", "confidence": 0.5} for i in plan.items})
    tallied, scored = both_reports(ws, plan, spec, monkeypatch)
    assert tallied.as_dict() == scored.as_dict() and len(tallied.runs[0].sweep.points) == 1


def test_a_subset_or_other_gold_labels_are_scored_item_by_item(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Items the plan leaves out (another item set, an edited copy of the plan) are not counted from the log."""
    spec = svc.ReplaySpec(INC, targets=("offline",), author="t")
    plan = svc.plan(ws, spec)
    write(ws, plan.jobs[0].run_id, random_results([i.id for i in plan.items], random.Random(9)))
    fewer = dataclasses.replace(plan, items=plan.items[1:])
    relabelled = dataclasses.replace(
        plan, items=[plan.items[0].model_copy(update={"expected": "toxic"}), *plan.items[1:]]
    )
    for changed in (fewer, relabelled):
        tallied, scored = both_reports(ws, changed, spec, monkeypatch, read_back=1)
        assert tallied.as_dict() == scored.as_dict()
    assert svc.report(ws, fewer, spec).runs[0].metrics.items == len(plan.items) - 1
    assert svc.report(ws, relabelled, spec).as_dict() != svc.report(ws, plan, spec).as_dict() or (
        plan.items[0].expected == "toxic"
    )


def test_a_candidate_and_its_baseline_are_paired_item_by_item(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = svc.ReplaySpec(INC, prompts=("prompts/toxicity/candidate.yaml",), targets=("offline",), author="t")
    plan = svc.plan(ws, spec)
    rng = random.Random(4)
    for job in plan.jobs:
        write(ws, job.run_id, random_results([i.id for i in plan.items], rng))
    tallied, scored = both_reports(ws, plan, spec, monkeypatch, read_back=2)
    assert tallied.as_dict() == scored.as_dict() and tallied.runs[1].flips is not None
