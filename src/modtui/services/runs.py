"""Runs after the fact: list, show one with its metrics, compare two."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modtui.analysis.flips import FlipReport, compare_grouped
from modtui.analysis.metrics import RunMetrics, ScoredItem, given_label, run_metrics, tallied_metrics
from modtui.analysis.stability import Stability
from modtui.domain.prompt_name import prompt_name
from modtui.domain.run import RunStatus
from modtui.errors import Problem, UsageError

if TYPE_CHECKING:  # the store's queries, labels and golden sets are imported inside the functions that use them:
    from modtui.store.records import RunRecord  # `runs compare` reads Core rows only (no SQLModel import)
    from modtui.store.records import AnsweredBy, Answer
    from modtui.workspace import Workspace


@dataclass
class RunView:
    run: RunRecord
    metrics: RunMetrics
    positive: str
    labels: str = "original"
    corrections: dict[str, Any] = field(default_factory=dict)
    stability: Stability | None = None
    answered: AnsweredBy | None = None

    @property
    def prompt_name(self) -> str:
        return prompt_name(self.run.prompt_path)

    def as_dict(self) -> dict[str, Any]:
        r = self.run
        answered = self.answered
        return {
            "run_id": r.id,
            "incident": r.incident_id,
            "target": r.target_name,
            "prompt": prompt_name(r.prompt_path),
            "prompt_version": r.prompt_version,
            "item_set": r.item_set,
            "status": r.status,
            "author": r.author,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "error": r.error,
            "answered_models": list(answered.models) if answered else [],
            "system_fingerprints": list(answered.system_fingerprints) if answered else [],
            "metrics": self.metrics.to_dict(),
            "labels": self.labels,
            "corrections": self.corrections,
            **({"stability": self.stability.to_dict()} if self.stability else {}),
        }


def model_change(
    baseline: AnsweredBy | None, candidate: AnsweredBy | None, baseline_run: int | None, candidate_run: int | None
) -> str | None:
    """A warning when the provider says different models answered the two runs (a silent model upgrade, a
    gateway's routing): the comparison then measures the model change as much as the prompt change."""
    if not baseline or not candidate or not baseline.models or not candidate.models:
        return None
    if set(baseline.models) == set(candidate.models):
        return None
    return (
        f"run {baseline_run} was answered by {', '.join(baseline.models)} but run {candidate_run} by "
        f"{', '.join(candidate.models)}: the comparison is confounded by the model change"
    )


PROBE_PREFIX = "probe:"  # services.probe.PREFIX: the pseudo-incident of an incident's probe runs


def list_runs(ws: Workspace, incident_id: str | None) -> list[dict[str, Any]]:
    from modtui.services import golden
    from modtui.store import runs as q

    if incident_id and incident_id.startswith("golden:"):
        golden.load(ws, incident_id.removeprefix("golden:"))  # a golden set's runs (it must exist)
    elif incident_id and incident_id.startswith(PROBE_PREFIX):  # probe runs, listed as on `probe:INC`
        ws.incident_folder(incident_id.removeprefix(PROBE_PREFIX))
    elif incident_id:
        ws.incident_folder(incident_id)
    with ws.store().read() as session:
        rows = q.runs_for(session, incident_id)
    out = []
    for r in rows:
        s = r.summary
        out.append(
            {
                "run_id": r.id,
                "incident": r.incident_id,
                "target": r.target_name,
                "prompt": prompt_name(r.prompt_path),
                "prompt_version": r.prompt_version,
                "status": r.status,
                "items": s.get("items", r.items_total),
                "precision": s.get("precision"),
                "recall": s.get("recall"),
                "f1": s.get("f1"),
                **summary_intervals(s),
                "fixed": s.get("fixed"),
                "regressed": s.get("regressed"),
                "author": r.author,
                "started_at": r.started_at,
            }
        )
    return out


def summary_intervals(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's intervals as its summary recorded them; precision's from its counts for a run recorded before
    summaries carried intervals (recall's needs the positives, which such a summary does not hold)."""
    from modtui.analysis.intervals import as_list, wilson

    precision_ci = summary.get("precision_ci")
    if precision_ci is None and "precision_ci" not in summary and "tp" in summary and "fp" in summary:
        precision_ci = as_list(wilson(summary["tp"], summary["tp"] + summary["fp"]))
    return {"precision_ci": precision_ci, "recall_ci": summary.get("recall_ci"), "f1_ci": summary.get("f1_ci")}


def view(ws: Workspace, run_id: int, labels: str = "original") -> RunView:
    """One run with its metrics on the original or the corrected gold labels (see services.labels)."""
    return scored_views(ws, [run_id], labels)[0][0]


def show(
    ws: Workspace, run_id: int, labels: str = "original", fp_cost: float = 1.0, fn_cost: float = 1.0
) -> dict[str, Any]:
    """`runs show`: the run, its metrics with intervals, agreement with the gold labels, and where the model
    gave confidences its calibration and the threshold of least cost (analysis.calibration)."""
    from modtui.analysis.agreement import kappa_vs_gold
    from modtui.analysis.calibration import calibration, cheapest_threshold

    for option, cost in (("--fp-cost", fp_cost), ("--fn-cost", fn_cost)):
        if not (math.isfinite(cost) and cost >= 0):  # NaN and inf weigh nothing: a least cost of NaN, not JSON
            raise UsageError(Problem(option, f"a cost must be a number, 0 or more, not {cost}"))
    [(run_view, items)] = scored_views(ws, [run_id], labels)
    cal = calibration(items, run_view.positive)
    cheapest = cheapest_threshold(items, run_view.positive, fp_cost, fn_cost)
    return {
        **run_view.as_dict(),
        "kappa_vs_gold": kappa_vs_gold(items),
        "calibration": cal.to_dict() if cal else None,
        "cheapest_threshold": cheapest.to_dict() if cheapest else None,
    }


def scored_views(ws: Workspace, run_ids: list[int], labels: str) -> list[tuple[RunView, list[ScoredItem]]]:
    """Each run with its metrics and scored items; the incident's gold labels read once (not once per run)."""
    from modtui.services.labels import corrections_dict, gold_labels
    from modtui.services.scoring import scored_rows
    from modtui.services.stability import figures, read_repeats
    from modtui.store import runs as q

    with ws.store().read() as session:
        runs = _runs_of_one_incident(run_ids, lambda run_id: q.get_run(session, run_id))
        incident_id = runs[0].incident_id
        expected = q.expected_labels(session, incident_id)
        positive = q.positive_label(session, incident_id)
        rows = [q.scoring_rows(session, run_id) for run_id in run_ids]
        repeats = [read_repeats(session, run.id, run.repeats) for run in runs]
        answered = q.answered_by(session, run_ids)
    gold, corrections = gold_labels(ws, incident_id, expected, labels)
    out = []
    for run, results, repeated in zip(runs, rows, repeats):
        items = scored_rows(results, gold)
        metrics = run_metrics(items, positive)
        out.append(
            (
                RunView(
                    run,
                    metrics,
                    positive,
                    labels,
                    corrections_dict(corrections),
                    figures(repeated, gold, positive, metrics.cost_usd),
                    answered[run.id],
                ),
                items,
            )
        )
    return out


def latest_completed_runs(ws: Workspace, incident_id: str, item_set: str | None = None) -> tuple[list[int], str | None]:
    """The newest completed run of each target × prompt version on one item set (by default the newest completed
    run's), oldest first, and that item set."""
    from modtui.store import runs as q

    ws.incident_folder(incident_id)
    with ws.store().read() as session:
        rows = [
            r for r in q.runs_for(session, incident_id, limit=10_000) if r.status is RunStatus.COMPLETED
        ]  # newest first
    if item_set is None and rows:
        item_set = rows[0].item_set
    latest: dict[tuple[str, str], int] = {}
    for r in rows:
        if r.item_set == item_set and r.id is not None:
            latest.setdefault((r.target_key, r.prompt_version), r.id)
    return sorted(latest.values()), item_set


def _runs_of_one_incident(run_ids: Sequence[int], lookup: Callable[[int], Any]) -> list[Any]:
    """The runs by id (exit 2 naming a missing one), which must all be on one incident."""
    runs = []
    for run_id in run_ids:
        run = lookup(run_id)
        if run is None:
            raise UsageError(Problem("run", f"no run {run_id}"))
        runs.append(run)
    _one_incident(runs)
    return runs


def _one_incident(runs: list[Any]) -> None:
    if len({r.incident_id for r in runs}) > 1:
        a, b = runs[0], runs[1]
        raise UsageError(
            Problem(
                "runs",
                f"run {a.id} is on {a.incident_id} but run {b.id} is on {b.incident_id}: give runs of one incident",
            )
        )


def compare_runs(ws: Workspace, a: int, b: int, labels: str = "original") -> tuple[RunView, RunView, FlipReport]:
    """Run b against run a (the baseline) on the incident's own or the corrected gold labels, with the log doing
    the pairing and counting (store.compare.tally: groups by gold label and both answers, the ids only of the
    items whose answers differ). The same numbers as scoring every item and analysis.flips.compare
    (tests/test_compare_tallied.py)."""
    from modtui.store import compare as c

    with ws.store().connect() as conn:
        runs = _runs_of_one_incident((a, b), lambda run_id: c.get_run(conn, run_id))
        incident = runs[0].incident_id
        positive = c.positive_label(conn, incident)
        rows = c.paired(conn, incident, a, b) if labels != "original" else None
        tally = c.tally(conn, incident, a, b) if rows is None else None
        answered = c.answered_by(conn, [a, b])
    corrections: dict[str, Any] = {}
    if rows is not None:  # the findings are read only then: on the original labels SQLModel is never loaded
        from modtui.services.labels import corrections_dict, gold_labels

        gold, found = gold_labels(ws, incident, {row[0]: row[1] for row in rows}, labels)
        tally, corrections = c.group_paired(rows, [gold[row[0]] for row in rows]), corrections_dict(found)
    assert tally is not None
    pairs = [(_scored(g.expected, g.a), _scored(g.expected, g.b), g.count, g.ids) for g in tally.groups]
    views = []
    for run, totals, side in ((runs[0], tally.a, 0), (runs[1], tally.b, 1)):
        counted: Counter[ScoredItem] = Counter()
        for base, cand, n, _ in pairs:
            if (item := (base, cand)[side]) is not None:
                counted[item] += n
        metrics = tallied_metrics(
            counted.items(), positive, totals.costs, totals.latencies, [totals.tokens_in], [totals.tokens_out]
        )
        views.append(RunView(run, metrics, positive, labels, corrections, answered=answered[run.id]))
    return views[0], views[1], compare_grouped(pairs, positive)


def _scored(expected: str, answer: Answer | None) -> ScoredItem | None:
    """A stand-in item for a group of results with the same gold label and answer (no id: groups name theirs)."""
    if answer is None:
        return None
    o = answer.outcome
    return ScoredItem("", expected, given_label(o, answer.label), o, answer.error_type, cached=answer.cached)
