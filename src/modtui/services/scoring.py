"""From stored results to metrics: scored items, run metrics, flips against a baseline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modtui.analysis.metrics import RunMetrics, ScoredItem, given_label, tallied_metrics
from modtui.analysis.sweep import Sweep, tallied_sweep
from modtui.domain.incident import Item
from modtui.store.records import ResultRecord


def scored_run(session: Any, run_id: int, expected: Mapping[str, str]) -> list[ScoredItem]:
    """A stored run's results for the items still in the incident, scored against their (current) gold label."""
    from modtui.store.runs import scoring_rows

    return scored_rows(scoring_rows(session, run_id), expected)


@dataclass(frozen=True, slots=True)
class TalliedRun:
    """A run's report figures from the log's counts (no scored item per result)."""

    metrics: RunMetrics
    sweep: Sweep | None
    first_cost: float  # the run's cost summed in item order, as `sum(i.cost_usd or 0.0 for i in scored_run(...))`


def tallied_run(db: Any, incident_id: str, run_id: int, positive: str) -> TalliedRun:
    """`run_metrics` and `sweep` of `scored_run(db, run_id, gold)` where `gold` is the gold labels the log holds
    for the incident's items (what it synced from the files), counted in the log: equal figures (tests)."""
    from modtui.store.sql import connection_of
    from modtui.store.tally import run_tally

    tally = run_tally(connection_of(db), incident_id, run_id)
    groups = [
        (
            ScoredItem(
                "",
                g.expected,
                given_label(g.outcome, g.label),
                g.outcome,
                g.error_type,
                g.confidence,
                None,
                None,
                None,
                None,
                g.cached,
            ),
            g.count,
        )
        for g in tally.groups
    ]
    totals = tally.totals
    metrics = tallied_metrics(
        groups, positive, totals.costs, totals.latencies, (totals.tokens_in,), (totals.tokens_out,)
    )
    return TalliedRun(metrics, tallied_sweep(groups, positive), sum(c or 0.0 for c in totals.costs))


def scored(results: Sequence[ResultRecord], expected: Mapping[str, str]) -> list[ScoredItem]:
    """As `scored_run`, from result records already in hand (store.runs.results_of)."""
    from modtui.store.runs import SCORING_COLUMNS

    return scored_rows(([getattr(r, c) for c in SCORING_COLUMNS] for r in results), expected)


def scored_rows(rows: Iterable[Sequence[Any]], expected: Mapping[str, str]) -> list[ScoredItem]:
    """Scored items from store.runs.scoring_rows' tuples: unpacking a tuple is several times cheaper than reading
    ten attributes, which is most of the time a 50,000-item compare takes."""
    out = []
    for item_id, outcome, label, error_type, confidence, latency_ms, cost_usd, tokens_in, tokens_out, cached in rows:
        gold = expected.get(item_id)
        if gold is not None:
            out.append(
                ScoredItem(
                    item_id,
                    gold,
                    given_label(outcome, label),
                    outcome,
                    error_type,
                    confidence,
                    latency_ms,
                    cost_usd,
                    tokens_in,
                    tokens_out,
                    bool(cached),
                )
            )
    return out


def baseline_name(baseline_run_id: int | None) -> str:
    """What a run's fixed/regressed counts are against: `run N`, or `observed` (production's recorded verdicts)."""
    return f"run {baseline_run_id}" if baseline_run_id else "observed"


def observed_as_run(items: Sequence[Item]) -> list[ScoredItem]:
    """Production's recorded verdicts as a pseudo-run (for `--baseline observed`)."""
    return [ScoredItem(item_id=i.id, expected=i.expected, label=i.observed) for i in items if i.observed is not None]
