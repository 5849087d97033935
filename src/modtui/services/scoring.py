"""From stored results to metrics: scored items, run metrics, flips against a baseline."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from modtui.analysis.metrics import ScoredItem
from modtui.domain.incident import Item
from modtui.store.tables import ResultRow


def scored(results: Sequence[ResultRow], expected: Mapping[str, str]) -> list[ScoredItem]:
    """Results of items still in the incident, scored against their (current) gold label."""
    return [ScoredItem(item_id=r.item_id, expected=expected[r.item_id], label=r.label if r.outcome == "label" else None,
                       outcome=r.outcome, error_type=r.error_type, confidence=r.confidence, latency_ms=r.latency_ms,
                       cost_usd=r.cost_usd, tokens_in=r.tokens_in, tokens_out=r.tokens_out, cached=bool(r.cached))
            for r in results if r.item_id in expected]


def observed_as_run(items: Sequence[Item]) -> list[ScoredItem]:
    """Production's recorded verdicts as a pseudo-run (for `--baseline observed`)."""
    return [ScoredItem(item_id=i.id, expected=i.expected, label=i.observed) for i in items if i.observed is not None]
