"""Decisions at production volume from recorded runs: the model-selection frontier and cascades.

No call is made: both read the log. Cost per 1,000 items is the recorded tokens × the target's prices
(so a run served from the cache costs what its calls would cost), the batch price that × the target's
`batch_discount`. Likewise an answer served from the cache takes the latency of the call that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modtui.analysis.cascade import CascadeOutcome, Stage, simulate, thresholds_seen
from modtui.analysis.frontier import Candidate, pareto_flags
from modtui.analysis.metrics import RunMetrics, ScoredItem, latency_percentiles, run_metrics
from modtui.errors import Problem, UsageError

if TYPE_CHECKING:
    from modtui.domain.target import Target
    from modtui.services.runs import RunView
    from modtui.workspace import Workspace


@dataclass(frozen=True, slots=True)
class PricedRun:
    """A run with its metrics, scored items (each costed at the target's prices) and its target."""

    view: RunView
    items: list[ScoredItem]
    target: Target

    @property
    def metrics(self) -> RunMetrics:
        return self.view.metrics

    def latency_ms(self) -> dict[str, float | None]:
        """p50 and p95 of the calls behind the run's answers."""
        p50, p95 = latency_percentiles(i.latency_ms for i in self.items)
        return {"p50": p50, "p95": p95}

    def cost_per_1k(self, batch: bool = False) -> float:
        cost = sum(i.cost_usd or 0.0 for i in self.items)
        per_1k = cost / len(self.items) * 1000 if self.items else 0.0
        return per_1k * self.target.batch_discount if batch else per_1k

    def as_dict(self) -> dict[str, Any]:
        m = self.metrics.to_dict()
        run = self.view.run
        return {
            "run_id": run.id,
            "target": run.target_name,
            "prompt": self.view.prompt_name,
            "items": m["items"],
            "f1": m["f1"],
            "f1_ci": m["f1_ci"],
            "precision": m["precision"],
            "precision_ci": m["precision_ci"],
            "recall": m["recall"],
            "recall_ci": m["recall_ci"],
            "cost_per_1k_usd": self.cost_per_1k(),
            "batch_cost_per_1k_usd": self.cost_per_1k(batch=True),
            "latency_ms": self.latency_ms(),
        }


def priced_runs(ws: Workspace, run_ids: Sequence[int]) -> list[PricedRun]:
    """The runs (of one incident) with every item costed from its tokens at its target's prices, and timed: an
    answer served from the cache at the latency of the call that made it."""
    from modtui.services.runs import scored_views
    from modtui.services.targets import recorded_target
    from modtui.store import runs as q

    views = scored_views(ws, list(run_ids), "original")
    with ws.store().read() as session:
        called = [q.call_latencies(session, view.run.id) for view, _ in views]
    out = []
    for (view, items), latencies in zip(views, called):
        target = recorded_target(ws, view.run.target_key, view.run.target_name)
        costed = [
            ScoredItem(
                i.item_id,
                i.expected,
                i.label,
                i.outcome,
                i.error_type,
                i.confidence,
                i.latency_ms if i.latency_ms is not None else latencies.get(i.item_id),
                target.cost(i.tokens_in or 0, i.tokens_out or 0),
                i.tokens_in,
                i.tokens_out,
                i.cached,
            )
            for i in items
        ]
        out.append(PricedRun(view, costed, target))
    return out


def select(
    ws: Workspace, incident_id: str, run_ids: Sequence[int] | None = None, item_set: str | None = None
) -> dict[str, Any]:
    """Every target × prompt of the incident (its latest completed run on one item set, or the runs named)
    with quality, cost and latency, the Pareto-optimal ones marked."""
    from modtui.services.runs import latest_completed_runs

    if not run_ids:
        run_ids, item_set = latest_completed_runs(ws, incident_id, item_set)
        if not run_ids:
            raise UsageError(
                Problem("select", f"{incident_id} has no completed run" + (f" on {item_set} items" if item_set else ""))
            )
    runs = priced_runs(ws, run_ids)
    if runs and runs[0].view.run.incident_id != incident_id:
        raise UsageError(
            Problem("--runs", f"run {runs[0].view.run.id} is on {runs[0].view.run.incident_id}, not {incident_id}")
        )
    flags = pareto_flags([Candidate(r.metrics.f1, r.cost_per_1k(), r.latency_ms()["p95"]) for r in runs])
    return {
        "incident": incident_id,
        "items": item_set,
        "runs": [r.as_dict() | {"pareto": flag} for r, flag in zip(runs, flags)],
    }


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    """One workbench column on the cost × F1 plane."""

    title: str
    f1: float | None
    cost_per_1k: float
    p95_ms: float | None
    pareto: bool


def column_frontier(ws: Workspace, columns: Sequence[Any]) -> list[FrontierPoint]:
    """The workbench's target × prompt columns with their cost per 1,000 items (tokens × the configured target's
    prices, as `select` prices them; the recorded cost for a target no longer configured) and Pareto flags."""
    rows = []
    for column in columns:
        m = column.metrics
        if m is None or not m.items:
            continue
        target = ws.config.targets.get(column.target)
        cost = target.cost(m.tokens_in, m.tokens_out) if target is not None else m.cost_usd
        rows.append((column.title, m.f1, cost / m.items * 1000, m.latency_p95_ms))
    flags = pareto_flags([Candidate(f1, cost, p95) for _, f1, cost, p95 in rows])
    return [FrontierPoint(title, f1, cost, p95, flag) for (title, f1, cost, p95), flag in zip(rows, flags)]


@dataclass(frozen=True, slots=True)
class StageSpec:
    run_id: int
    threshold: float | None


def parse_stage(text: str) -> StageSpec:
    """`RUN` or `RUN@THRESHOLD` (a confidence in 0..1)."""
    run, _, threshold = text.partition("@")
    problem = Problem("--stage", f"'{text}' is not RUN or RUN@THRESHOLD (e.g. 12@0.8)")
    if not run.isascii() or not run.isdigit():
        raise UsageError(problem)
    if not threshold:
        return StageSpec(int(run), None)
    try:
        value = float(threshold)
    except ValueError:
        raise UsageError(problem) from None
    if not 0.0 <= value <= 1.0:
        raise UsageError(Problem("--stage", f"threshold {threshold} is not within 0..1"))
    return StageSpec(int(run), value)


def cascade(ws: Workspace, incident_id: str, specs: Sequence[StageSpec], sweep: bool = False) -> dict[str, Any]:
    """The cascade of the recorded runs `specs` (first to last), beside each stage alone; with `sweep`, the
    cost/F1 of every threshold the first stage's confidences make, and which of them are Pareto-optimal."""
    if len(specs) < 2:
        raise UsageError(Problem("--stage", "a cascade needs two stages or more (--stage RUN@T --stage RUN)"))
    runs = priced_runs(ws, [s.run_id for s in specs])
    if runs[0].view.run.incident_id != incident_id:
        raise UsageError(
            Problem("--stage", f"run {specs[0].run_id} is on {runs[0].view.run.incident_id}, not {incident_id}")
        )
    positive = runs[0].view.positive
    stages = [Stage(_stage_name(r), {i.item_id: i for i in r.items}, s.threshold) for r, s in zip(runs, specs)]
    out = simulate(stages)
    data: dict[str, Any] = {
        "incident": incident_id,
        "positive_label": positive,
        "cascade": _outcome_dict(out, stages, positive),
        "stages_alone": [r.as_dict() | {k: r.metrics.to_dict()[k] for k in ("tp", "fp", "fn", "tn")} for r in runs],
    }
    if sweep:
        data["sweep"] = _sweep(stages, positive)
    return data


def _stage_name(run: PricedRun) -> str:
    return f"#{run.view.run.id} {run.view.run.target_name} {run.view.prompt_name}"


def _outcome_dict(out: CascadeOutcome, stages: Sequence[Stage], positive: str) -> dict[str, Any]:
    m = run_metrics(out.decided, positive).to_dict()
    n = len(out.decided)
    cost = sum(i.cost_usd or 0.0 for i in out.decided)
    return {
        "items": n,
        "items_missing": out.items_missing,
        **{k: m[k] for k in ("tp", "fp", "fn", "tn", "no_verdict", "precision", "recall", "f1")},
        **{k: m[k] for k in ("precision_ci", "recall_ci", "f1_ci")},
        "cost_per_1k_usd": cost / n * 1000 if n else 0.0,
        "latency_ms": m["latency_ms"],
        "stages": [
            {
                "stage": s.name,
                "threshold": s.threshold if i < len(stages) - 1 else None,
                "reached": reached,
                "escalated": escalated,
                "escalation_rate": escalated / reached if reached else None,
            }
            for i, (s, reached, escalated) in enumerate(zip(stages, out.reached, out.escalated))
        ],
    }


def _sweep(stages: Sequence[Stage], positive: str) -> list[dict[str, Any]]:
    points = []
    for threshold in thresholds_seen(stages[0].results):
        out = simulate([Stage(stages[0].name, stages[0].results, threshold), *stages[1:]])
        m = run_metrics(out.decided, positive)
        n = len(out.decided)
        points.append(
            {
                "threshold": threshold,
                "f1": m.f1,
                "precision": m.precision,
                "recall": m.recall,
                "escalation_rate": out.escalated[0] / out.reached[0] if out.reached[0] else None,
                "cost_per_1k_usd": sum(i.cost_usd or 0.0 for i in out.decided) / n * 1000 if n else 0.0,
                "latency_p95_ms": m.latency_p95_ms,
            }
        )
    flags = pareto_flags([Candidate(p["f1"], float(p["cost_per_1k_usd"] or 0.0), None) for p in points])
    return [p | {"pareto": flag} for p, flag in zip(points, flags)]
