"""Whether a model's confidence can be trusted: reliability bins, ECE, and the cheapest threshold.

An item's *score* is the confidence of the positive label (:func:`modtui.analysis.sweep.positive_score`:
the confidence when the verdict is the positive label, 1 − confidence for another label). Items without
a verdict or a confidence have no score and are left out of calibration.

* **Bins**: 10 equal-width bins ``[i/10, (i+1)/10)``, the last closed ``[0.9, 1.0]``. Per bin: ``count``,
  ``mean_score``, and ``positive_rate`` = the share of its items whose expected label is positive (both
  ``None`` for an empty bin).
* **ECE** = Σ count/N · |mean_score − positive_rate| over the non-empty bins, N the scored items.
  :func:`calibration` returns ``None`` when no item has a score.
* **Cheapest threshold**: predicting positive iff score ≥ t costs ``fp_cost·FP + fn_cost·FN``, where FN
  counts every positive item not predicted positive (unscored ones included, as the sweep's recall
  does). Every distinct score is a candidate threshold, and so is "flag nothing" (``threshold`` ``None``:
  every positive item missed). The minimum wins; ties go to the higher threshold (fewer items flagged).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modtui.analysis.metrics import ScoredItem
from modtui.analysis.sweep import positive_score

BINS = 10
EDGES = [i / BINS for i in range(1, BINS)]  # inner edges 0.1 … 0.9


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    mean_score: float | None
    positive_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lo": self.lo,
            "hi": self.hi,
            "count": self.count,
            "mean_score": self.mean_score,
            "positive_rate": self.positive_rate,
        }


@dataclass(frozen=True, slots=True)
class Calibration:
    ece: float
    scored: int
    bins: tuple[ReliabilityBin, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ece": self.ece, "scored": self.scored, "bins": [b.to_dict() for b in self.bins]}


def bin_of(score: float) -> int:
    """The bin index of a score in [0, 1]: ``i/10 <= score < (i+1)/10``, 1.0 in the last bin."""
    return bisect.bisect_right(EDGES, score)


def scored_pairs(items: Sequence[ScoredItem], positive: str) -> list[tuple[float, bool]]:
    """(score, expected is positive) of every item with a score."""
    return [(s, it.expected == positive) for it in items if (s := positive_score(it, positive)) is not None]


def calibration(items: Sequence[ScoredItem], positive: str) -> Calibration | None:
    pairs = scored_pairs(items, positive)
    if not pairs:
        return None
    sums = [0.0] * BINS
    hits = [0] * BINS
    counts = [0] * BINS
    for score, is_pos in pairs:
        b = bin_of(min(max(score, 0.0), 1.0))
        counts[b] += 1
        sums[b] += score
        hits[b] += is_pos
    bins, ece = [], 0.0
    for b in range(BINS):
        n = counts[b]
        mean = sums[b] / n if n else None
        rate = hits[b] / n if n else None
        if mean is not None and rate is not None:
            ece += n / len(pairs) * abs(mean - rate)
        bins.append(ReliabilityBin(b / BINS, (b + 1) / BINS, n, mean, rate))
    return Calibration(ece, len(pairs), tuple(bins))


@dataclass(frozen=True, slots=True)
class CostPoint:
    """The outcome of flagging iff score >= ``threshold`` (``None``: flag nothing)."""

    threshold: float | None
    fp: int
    fn: int
    cost: float
    fp_cost: float
    fn_cost: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "fp": self.fp,
            "fn": self.fn,
            "cost": self.cost,
            "fp_cost": self.fp_cost,
            "fn_cost": self.fn_cost,
        }


def cheapest_threshold(
    items: Sequence[ScoredItem], positive: str, fp_cost: float = 1.0, fn_cost: float = 1.0
) -> CostPoint | None:
    """The threshold of least ``fp_cost·FP + fn_cost·FN``; ``None`` when no item has a score."""
    if fp_cost < 0 or fn_cost < 0:
        raise ValueError("costs must be >= 0")
    pairs = sorted(scored_pairs(items, positive), key=lambda p: -p[0])
    if not pairs:
        return None
    positives = sum(1 for it in items if it.expected == positive)
    best = CostPoint(None, 0, positives, fn_cost * positives, fp_cost, fn_cost)
    tp = fp = 0
    for i, (score, is_pos) in enumerate(pairs):
        tp += is_pos
        fp += not is_pos
        if i + 1 < len(pairs) and pairs[i + 1][0] == score:
            continue  # all ties flagged together
        cost = fp_cost * fp + fn_cost * (positives - tp)
        if cost < best.cost:  # strictly: a tie keeps the higher threshold seen first
            best = CostPoint(score, fp, positives - tp, cost, fp_cost, fn_cost)
    return best
