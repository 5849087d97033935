"""`runs compare` on the original labels pairs and counts in the log (services.runs._compare_tallied): it must give
exactly what scoring every item and calling analysis.flips.compare gives (services.runs.scored_views), on both databases."""

from __future__ import annotations

import random

import pytest

from modtui.analysis.flips import compare
from modtui.analysis.metrics import ScoredItem, run_metrics, tallied_metrics
from modtui.services import runs as runs_svc
from modtui.services.incidents import load_and_sync
from modtui.store import runs as q
from modtui.timeutil import now_iso
from modtui.workspace import Workspace

INC = "INC-T1"
OUTCOMES = ["label"] * 6 + ["parse_error", "refusal", "truncated", "error", "error"]


def write_run(ws: Workspace, item_ids: list[str], labels: list[str], rng: random.Random) -> int:
    target = ws.config.targets["gpt-mini"]
    prompt = ws.load_prompt("prompts/toxicity/candidate.yaml")
    with ws.store().write() as session:
        q.ensure_prompt_version(session, prompt, ws.prompt_source(prompt))
        key = q.ensure_target(session, target)
        session.flush()
        run = q.start_run(
            session,
            incident_id=INC,
            target_key=key,
            target_name=target.name,
            prompt_version=prompt.version,
            prompt_path=prompt.path,
            item_set="all",
            author="t",
            items_total=len(item_ids),
        )
        rows = []
        for item_id in item_ids:
            outcome = rng.choice(OUTCOMES)
            rows.append(
                {
                    "run_id": run.id,
                    "item_id": item_id,
                    "outcome": outcome,
                    # a label stored with a non-label outcome is not a verdict; error types vary or are missing
                    "label": rng.choice(labels + [None]) if outcome == "label" or rng.random() < 0.3 else None,
                    "error_type": rng.choice(["rate_limit", "server", None]) if rng.random() < 0.5 else None,
                    "confidence": rng.choice([None, 0.7]),
                    "latency_ms": rng.choice([None, rng.uniform(1, 900)]),
                    "cost_usd": rng.uniform(0, 0.01),
                    "tokens_in": rng.randrange(500),
                    "tokens_out": rng.randrange(50),
                    "cached": rng.random() < 0.3,
                    "created_at": now_iso(),
                }
            )
        q.insert_results(session, rows, [])
        return run.id


@pytest.mark.parametrize("seed", range(6))
def test_tallied_compare_equals_the_item_by_item_one(ws: Workspace, seed: int) -> None:
    rng = random.Random(seed)
    loaded = load_and_sync(ws, INC)
    ids = [i.id for i in loaded.items]
    labels = sorted({i.expected for i in loaded.items}) + ["other"]
    a = write_run(ws, [i for i in ids if rng.random() < 0.9] + ["gone-1"], labels, rng)  # "gone-1": not an item
    b = write_run(ws, [i for i in ids if rng.random() < 0.9], labels, rng)
    for x, y in ((a, b), (b, a), (a, a)):
        left, right, flips = runs_svc.compare_runs(ws, x, y)
        (ref_left, base), (ref_right, cand) = runs_svc.scored_views(ws, [x, y], "original")
        assert (left.metrics, right.metrics) == (ref_left.metrics, ref_right.metrics)
        assert flips == compare(base, cand, ref_left.positive)
        assert left.as_dict() == ref_left.as_dict() and right.as_dict() == ref_right.as_dict()


def test_tallied_metrics_equal_run_metrics_on_groups() -> None:
    rng = random.Random(3)
    items = [
        ScoredItem(
            f"i{n}",
            rng.choice("ab"),
            rng.choice(["a", "b", None]),
            rng.choice(OUTCOMES),
            rng.choice(["server", None]),
            None,
            rng.choice([None, rng.random()]),
            rng.random(),
            rng.choice([None, 3]),
            2,
            rng.random() < 0.5,
        )
        for n in range(500)
    ]
    groups: dict[tuple[object, ...], int] = {}
    for it in items:
        key = (it.expected, it.label, it.outcome, it.error_type, it.cached)
        groups[key] = groups.get(key, 0) + 1
    tallied = tallied_metrics(
        [(ScoredItem("", e, lb, o, err, cached=c), n) for (e, lb, o, err, c), n in groups.items()],
        "a",
        [it.cost_usd for it in items],
        [it.latency_ms for it in items],
        [it.tokens_in for it in items],
        [it.tokens_out for it in items],
    )
    assert tallied == run_metrics(items, "a")


def test_the_workspace_names_the_incident_file_as_the_loader_does() -> None:
    from modtui import workspace
    from modtui.incidents import loader

    assert workspace.INCIDENT_FILE == loader.INCIDENT_FILE
