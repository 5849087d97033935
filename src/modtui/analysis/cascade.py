"""Cascades simulated from recorded runs: no new calls (pure).

Each item goes to the first stage. When that stage gave no verdict, or its confidence in its own
label is below the stage's threshold (a stage with no threshold, or the last stage, always decides),
the item escalates to the next stage; the last stage decides whatever it said. An item's cost is
the sum of the costs of the stages it visited, and its latency the sum of their latencies (the
stages run one after another). A stage's confidence that is missing counts as 0: a stage with a
threshold escalates every item it gave no confidence for.

Only items every stage has a result for are simulated (a recorded run may lack a few items); the
others are counted in ``items_missing``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modtui.analysis.metrics import ScoredItem


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: its results by item id and the confidence below which it escalates (None: it decides)."""

    name: str
    results: Mapping[str, ScoredItem]
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class CascadeOutcome:
    """The cascade's decided items (cost and latency summed over the stages visited), how many items each
    stage saw and escalated, and how many items were left out because a stage had no result for them."""

    decided: list[ScoredItem]
    reached: list[int]
    escalated: list[int]
    items_missing: int


def escalates(result: ScoredItem, threshold: float | None) -> bool:
    """Whether a stage passes this item on: no verdict, or a confidence below the threshold."""
    if threshold is None:
        return False
    return result.label is None or (result.confidence or 0.0) < threshold


def simulate(stages: Sequence[Stage]) -> CascadeOutcome:
    """Run every item through ``stages`` (the last stage's threshold is ignored: it decides)."""
    if not stages:
        raise ValueError("a cascade needs at least one stage")
    common = set(stages[0].results)
    for stage in stages[1:]:
        common &= set(stage.results)
    every = set().union(*(s.results for s in stages))
    reached = [0] * len(stages)
    escalated = [0] * len(stages)
    decided = []
    for item_id in sorted(common):
        cost = latency = 0.0
        has_latency = False
        tokens_in = tokens_out = 0
        for i, stage in enumerate(stages):
            result = stage.results[item_id]
            reached[i] += 1
            cost += result.cost_usd or 0.0
            tokens_in += result.tokens_in or 0
            tokens_out += result.tokens_out or 0
            if result.latency_ms is not None:
                latency += result.latency_ms
                has_latency = True
            last = i == len(stages) - 1
            if last or not escalates(result, stage.threshold):
                decided.append(
                    ScoredItem(
                        item_id,
                        result.expected,
                        result.label,
                        result.outcome,
                        result.error_type,
                        result.confidence,
                        latency if has_latency else None,
                        cost,
                        tokens_in,
                        tokens_out,
                        result.cached,
                    )
                )
                break
            escalated[i] += 1
    return CascadeOutcome(decided, reached, escalated, len(every) - len(common))


def thresholds_seen(results: Mapping[str, ScoredItem]) -> list[float]:
    """The distinct confidences a stage gave with a verdict, ascending, plus one above them all (escalate
    everything): every threshold that makes a different cascade."""
    seen = sorted({r.confidence for r in results.values() if r.label is not None and r.confidence is not None})
    return [0.0, *[c for c in seen if c > 0.0], (seen[-1] if seen else 0.0) + 1e-9]
