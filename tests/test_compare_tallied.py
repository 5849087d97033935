"""`runs compare` pairs and counts in the log (store.compare.tally, a GROUP BY) and scores groups of pairs
(analysis.flips.compare_grouped): it must give exactly what scoring every item and calling analysis.flips.compare
gives (services.runs.scored_views), on both databases; the log's counting must equal counting its paired rows."""

from __future__ import annotations

import random

import pytest

from modtui.analysis.flips import compare, compare_grouped
from modtui.analysis.metrics import ScoredItem, run_metrics, tallied_metrics
from modtui.services import runs as runs_svc
from modtui.services.incidents import load_and_sync
from modtui.store import compare as c
from modtui.store import runs as q
from modtui.store.records import PairTally
from modtui.timeutil import now_iso
from modtui.workspace import Workspace

INC = "INC-T1"
OUTCOMES = ["label"] * 6 + ["parse_error", "refusal", "truncated", "error", "error"]


def write_run(ws: Workspace, item_ids: list[str], labels: list[str], rng: random.Random) -> int:
    results = {}
    for item_id in item_ids:
        outcome = rng.choice(OUTCOMES)
        results[item_id] = {
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
        }
    return write_results(ws, results)


def write_results(ws: Workspace, results: dict[str, dict[str, object]]) -> int:
    """A completed-looking run of the test target on INC-T1 with these results (item id -> columns)."""
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
            items_total=len(results),
        )
        defaults = {"error_type": None, "confidence": None, "latency_ms": None, "cost_usd": 0.0}
        defaults |= {"tokens_in": 0, "tokens_out": 0, "cached": False, "created_at": now_iso()}
        rows = [{"run_id": run.id, "item_id": i, **defaults, **columns} for i, columns in results.items()]
        q.insert_results(session, rows, [])
        return run.id


def normal(tally: PairTally) -> tuple[object, ...]:
    """A tally with its orderless parts sorted: groups, the ids in a group, latencies."""
    groups = sorted((repr((g.expected, g.a, g.b)), g.count, sorted(g.ids)) for g in tally.groups)
    sides = [(s.costs, sorted(s.latencies, key=repr), s.tokens_in, s.tokens_out) for s in (tally.a, tally.b)]
    return groups, sides


def answer(outcome: str, label: str | None = None, error_type: str | None = None, **more: object) -> dict[str, object]:
    return {"outcome": outcome, "label": label, "error_type": error_type, **more}


def test_the_logs_tally_equals_counting_its_paired_rows(ws: Workspace) -> None:
    """A constructed pair of runs (INC-T1: i-04, i-05, i-06, i-11 toxic, the rest ok): flips both ways, equal
    answers, no verdicts of different kinds, results on one side only, none at all, and a result for no item."""
    load_and_sync(ws, INC)
    base = {
        "i-01": answer("label", "toxic", cost_usd=0.1, latency_ms=10.0, tokens_in=5),  # FP -> TN: fixed
        "i-02": answer("label", "ok", cost_usd=0.2, latency_ms=20.0),  # TN -> FP: regressed
        "i-03": answer("label", "ok", cached=True),  # TN both, cached on one side only
        "i-04": answer("label", "toxic", latency_ms=40.0),  # TP both: the same answer
        "i-05": answer("label", "toxic", tokens_out=7),  # TP both: the same answer
        "i-06": answer("parse_error"),  # NV -> TP: fixed
        "i-07": answer("error", error_type="rate_limit"),  # NV both, another kind: changed, both wrong
        "i-08": answer("error", "ok", error_type="server"),  # a stored label with outcome error is no verdict
        "i-09": answer("label", "ok", cost_usd=0.3),  # on the baseline only
        "i-11": answer("refusal"),  # NV -> FN
        "gone-1": answer("label", "ok", cost_usd=5.0),  # not an item of the incident
    }
    cand = {
        "i-01": answer("label", "ok", cost_usd=0.7),
        "i-02": answer("label", "toxic", latency_ms=25.0, tokens_in=3),
        "i-03": answer("label", "ok"),
        "i-04": answer("label", "toxic", latency_ms=40.0),
        "i-05": answer("label", "toxic"),
        "i-06": answer("label", "toxic", cost_usd=0.05),
        "i-07": answer("error", error_type="server"),
        "i-08": answer("error", error_type="server"),
        "i-10": answer("label", "ok"),  # on the candidate only
        "i-11": answer("label", "ok"),
    }  # i-12: no result on either side
    a, b = write_results(ws, base), write_results(ws, cand)
    with ws.store().connect() as conn:
        for x, y in ((a, b), (b, a), (a, a)):
            tally = c.tally(conn, INC, x, y)
            assert normal(tally) == normal(c.group_paired(c.paired(conn, INC, x, y)))
    with ws.store().connect() as conn:
        tally = c.tally(conn, INC, a, b)
    assert {g.ids for g in tally.groups if g.a == g.b} == {()}  # equal answers are counted, not named
    assert sum(g.count for g in tally.groups) == 11  # i-12 has no result on either side
    assert (tally.a.costs, tally.a.tokens_in, tally.b.tokens_in, tally.b.tokens_out) == (
        (0.1, 0.2) + (0.0,) * 6 + (0.3, 0.0),
        5,
        3,
        0,
    )
    left, right, flips = runs_svc.compare_runs(ws, a, b)
    assert (flips.fixed, flips.regressed) == (("i-01", "i-06"), ("i-02",))
    assert (flips.only_baseline, flips.only_candidate, flips.paired) == (("i-09",), ("i-10",), 9)
    assert flips.changed_label == ("i-01", "i-02", "i-06", "i-07", "i-11")  # i-08: no verdict (server) on both
    assert flips.transitions == {"FP→TN": ["i-01"], "NV→FN": ["i-11"], "NV→TP": ["i-06"], "TN→FP": ["i-02"]}
    (ref_left, scored_a), (ref_right, scored_b) = runs_svc.scored_views(ws, [a, b], "original")
    assert flips == compare(scored_a, scored_b, "toxic")
    assert (left.metrics, right.metrics) == (ref_left.metrics, ref_right.metrics)
    assert right.metrics.cached == 0 and left.metrics.cached == 1


def test_grouped_compare_equals_the_item_by_item_one() -> None:
    rng = random.Random(5)
    base, cand, groups = [], [], {}
    for n in range(400):
        expected = rng.choice("ab")
        sides = []
        for _ in range(2):
            outcome = rng.choice(OUTCOMES)
            label = rng.choice(["a", "b", None]) if outcome == "label" else None
            sides.append(ScoredItem(f"i{n:03d}", expected, label, outcome, rng.choice(["server", None])))
        base.append(sides[0])
        cand.append(sides[1])
        key = tuple(ScoredItem("", s.expected, s.label, s.outcome, s.error_type) for s in sides)
        groups.setdefault(key, []).append(sides[0].item_id)
    named = [(x, y, len(ids), ids if x != y else []) for (x, y), ids in groups.items()]
    rng.shuffle(named)
    assert compare_grouped(named, "a") == compare(base, cand, "a")
    one_side = [(base[0], None, 1, [base[0].item_id])]
    assert compare_grouped(one_side, "a").only_baseline == (base[0].item_id,)
    differing = next(g for g in named if g[0] != g[1])
    with pytest.raises(ValueError, match="names 0 items"):
        compare_grouped([(differing[0], differing[1], differing[2], [])], "a")


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
