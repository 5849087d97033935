"""From stored results to metrics: scored items, run metrics, flips against a baseline."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modtui.analysis.metrics import ScoredItem
from modtui.domain.incident import Item
from modtui.store.tables import ResultRow


def scored(results: Sequence[ResultRow], expected: Mapping[str, str]) -> list[ScoredItem]:
    """Results of items still in the incident, scored against their (current) gold label."""
    return [ScoredItem(item_id=r.item_id, expected=expected[r.item_id], label=r.label if r.outcome == "label" else None,
                       outcome=r.outcome, error_type=r.error_type, confidence=r.confidence, latency_ms=r.latency_ms,
                       cost_usd=r.cost_usd, tokens_in=r.tokens_in, tokens_out=r.tokens_out, cached=bool(r.cached))
            for r in results if r.item_id in expected]


def scored_rows(rows: Iterable[Sequence[Any]], expected: Mapping[str, str]) -> list[ScoredItem]:
    """As `scored`, from store.runs.scoring_rows' tuples: unpacking a tuple is several times cheaper than reading
    ten attributes, which is most of the time a 50,000-item compare takes."""
    out = []
    for item_id, outcome, label, error_type, confidence, latency_ms, cost_usd, tokens_in, tokens_out, cached in rows:
        gold = expected.get(item_id)
        if gold is not None:
            out.append(ScoredItem(item_id, gold, label if outcome == "label" else None, outcome, error_type, confidence,
                                  latency_ms, cost_usd, tokens_in, tokens_out, bool(cached)))
    return out


def observed_as_run(items: Sequence[Item]) -> list[ScoredItem]:
    """Production's recorded verdicts as a pseudo-run (for `--baseline observed`)."""
    return [ScoredItem(item_id=i.id, expected=i.expected, label=i.observed) for i in items if i.observed is not None]
