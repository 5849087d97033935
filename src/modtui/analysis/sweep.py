"""Confidence-threshold sweep for the positive label.

An item's *score* (its probability of being positive) is its ``confidence``
when its label is the positive label and ``1 - confidence`` when it is another
label. Items without a verdict or without a confidence have no score: they are
predicted negative at every threshold, but a positive one still counts in
recall's denominator.

For every distinct score ``t`` in descending order the item is predicted
positive iff ``score >= t``, giving a :class:`SweepPoint` with
``precision = TP / predicted_positive``, ``recall = TP / positives`` (``None``
without positives) and ``F1 = 2PR / (P + R)`` (``0.0`` when ``P + R == 0``,
``None`` when recall is ``None``). ``best`` is the point of maximal F1, ties
going to the higher threshold; ``None`` when no point has an F1.
:func:`sweep` returns ``None`` when no item has a score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from modtui.analysis.metrics import ScoredItem
from modtui.analysis.stats import f1_score, ratio


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Metrics when predicting positive iff score >= ``threshold``."""

    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    predicted_positive: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with keys threshold, precision, recall, f1, predicted_positive."""
        return {
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "predicted_positive": self.predicted_positive,
        }


@dataclass(frozen=True, slots=True)
class Sweep:
    """All sweep points (descending threshold) and the best-F1 point."""

    items: int
    positives: int
    scored: int
    points: tuple[SweepPoint, ...]
    best: SweepPoint | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with keys items, positives, scored, points, best."""
        return {
            "items": self.items,
            "positives": self.positives,
            "scored": self.scored,
            "points": [p.to_dict() for p in self.points],
            "best": self.best.to_dict() if self.best is not None else None,
        }


def positive_score(item: ScoredItem, positive: str) -> float | None:
    """Score that ``item`` is positive; ``None`` without a verdict or confidence."""
    if item.label is None or item.confidence is None:
        return None
    conf = float(item.confidence)
    return conf if item.label == positive else 1.0 - conf


def sweep(items: Sequence[ScoredItem], positive: str) -> Sweep | None:
    """Sweep every distinct score as threshold.

    ``None`` when no item has a score (no confidence on any item with a verdict).
    """
    positives = sum(1 for it in items if it.expected == positive)
    scored = [(score, it.expected == positive) for it in items if (score := positive_score(it, positive)) is not None]
    scored.sort(key=lambda pair: -pair[0])
    if not scored:
        return None
    points: list[SweepPoint] = []
    tp = 0
    for i, (score, is_pos) in enumerate(scored):
        tp += is_pos
        if i + 1 < len(scored) and scored[i + 1][0] == score:
            continue  # emit once per distinct score, after all ties are in
        precision, recall = ratio(tp, i + 1), ratio(tp, positives)
        points.append(SweepPoint(score, precision, recall, f1_score(precision, recall), i + 1))
    return Sweep(len(items), positives, len(scored), tuple(points), best_point(points))


def tallied_sweep(groups: Iterable[tuple[ScoredItem, int]], positive: str) -> Sweep | None:
    """:func:`sweep` from ``(item, n)`` groups: ``n`` items sharing ``expected``, ``label`` and ``confidence`` with
    ``item`` (what the log can count for a big run). Equal to ``sweep`` over the items the groups stand for."""
    groups = list(groups)
    positives = sum(n for it, n in groups if it.expected == positive)
    scored = [
        (score, it.expected == positive, n)
        for it, n in groups
        if n and (score := positive_score(it, positive)) is not None
    ]
    scored.sort(key=lambda entry: -entry[0])
    if not scored:
        return None
    points: list[SweepPoint] = []
    tp = seen = 0
    for i, (score, is_pos, n) in enumerate(scored):
        tp += n if is_pos else 0
        seen += n
        if i + 1 < len(scored) and scored[i + 1][0] == score:
            continue  # emit once per distinct score, after all ties are in
        precision, recall = ratio(tp, seen), ratio(tp, positives)
        points.append(SweepPoint(score, precision, recall, f1_score(precision, recall), seen))
    return Sweep(sum(n for _, n in groups), positives, seen, tuple(points), best_point(points))


def best_point(points: Sequence[SweepPoint]) -> SweepPoint | None:
    """Point with the largest F1, ties to the higher threshold; ``None`` if no F1."""
    rated = [p for p in points if p.f1 is not None]
    if not rated:
        return None
    return max(rated, key=lambda p: (p.f1, p.threshold))
