"""Run-level replay metrics for binary moderation on one positive label.

Definitions (``pos`` is the positive label, an item's *verdict* is its
``label`` when that is not ``None``):

* **TP** expected == pos and label == pos.
* **FP** expected != pos and label == pos.
* **FN** expected == pos and a verdict other than pos.
* **TN** expected != pos and a verdict other than pos.
* **no_verdict** label is ``None`` (outcome parse_error, refusal, truncated,
  error, ...). Counted apart from the four cells above and broken down in
  ``no_verdict_by_type`` keyed by the outcome, except that outcome ``"error"``
  is keyed by its ``error_type`` (``"error"`` when that is missing), e.g.
  ``{"parse_error": 2, "rate_limit": 1}``.
* **precision** = TP / (TP + FP); ``None`` when TP + FP == 0.
* **recall** = TP / (number of items whose expected is pos, *including* those
  without a verdict), so a positive item with no verdict lowers recall;
  ``None`` when there are no positive items.
* **F1** = 2PR / (P + R); ``0.0`` when P + R == 0; ``None`` when P or R is ``None``.
* **precision_ci**, **recall_ci**: 95 % Wilson score intervals on the same fractions
  (``None`` when the denominator is 0); **f1_ci**: a seeded percentile bootstrap of F1
  (1,000 resamples; the seed is in ``f1_bootstrap``). See :mod:`modtui.analysis.intervals`.
* **accuracy** = correct / items, where an item is correct when its label is
  not ``None`` and equals expected (no verdict is never correct).
* **coverage** = verdicts / items. Both ``None`` for zero items.
* **latency p50 / p95** over items whose ``latency_ms`` is not ``None``
  (cached results carry ``None``), linear interpolation between closest ranks
  as numpy's default ``percentile``; ``None`` when no item has a latency.
* **cost_usd**, **tokens_in**, **tokens_out**: sums ignoring ``None``;
  **cached**: number of items served from cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.intervals import BootstrapF1, as_list, bootstrap_f1, wilson
from modtui.analysis.stats import f1_score, percentile, ratio
from modtui.domain.verdict import Outcome

CELLS: tuple[str, ...] = ("TP", "FP", "FN", "TN", "NV")


@dataclass(frozen=True, slots=True)
class ScoredItem:
    """One replayed item: gold label, the model's label and run bookkeeping."""

    item_id: str
    expected: str  # gold label
    label: str | None  # label the model gave; None = no verdict
    outcome: str = Outcome.LABEL  # an Outcome (the log's fast paths hand its value, which compares equal)
    error_type: str | None = None  # for outcome "error": an ErrorType (or its value), rate_limit, server, ...
    confidence: float | None = None  # model's confidence in *its* label, 0..1
    latency_ms: float | None = None
    cost_usd: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cached: bool = False


_LABEL = Outcome.LABEL  # a module global: read per result in the scoring loops, faster than the class attribute


def given_label(outcome: str, label: str | None) -> str | None:
    """The label a result gave: its label when its outcome is `label`, else None (no verdict)."""
    return label if outcome == _LABEL else None


def correct(item: ScoredItem) -> bool:
    """True when the item has a verdict and it equals the gold label."""
    return item.label is not None and item.label == item.expected


def no_verdict_type(item: ScoredItem) -> str | None:
    """Why an item has no verdict: its outcome, or its error_type for outcome "error".

    ``None`` when the item has a verdict.
    """
    if item.label is not None:
        return None
    if item.outcome == Outcome.ERROR:
        return item.error_type or Outcome.ERROR.value
    return item.outcome


def cell(item: ScoredItem, positive: str) -> str:
    """Confusion cell of an item: "TP", "FP", "FN", "TN", or "NV" (no verdict)."""
    if item.label is None:
        return "NV"
    predicted = item.label == positive
    actual = item.expected == positive
    if predicted:
        return "TP" if actual else "FP"
    return "FN" if actual else "TN"


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Metrics of one run; see the module docstring for every definition."""

    items: int
    tp: int
    fp: int
    fn: int
    tn: int
    no_verdict: int
    no_verdict_by_type: dict[str, int] = field(hash=False)
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    coverage: float | None
    cost_usd: float
    tokens_in: int
    tokens_out: int
    cached: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    positives: int = 0  # items whose gold label is the positive one (recall's denominator)

    @property
    def precision_ci(self) -> tuple[float, float] | None:
        return wilson(self.tp, self.tp + self.fp)

    @property
    def recall_ci(self) -> tuple[float, float] | None:
        return wilson(self.tp, self.positives)

    def f1_bootstrap(self) -> BootstrapF1:
        """The seeded bootstrap interval of F1."""
        missed = self.positives - self.tp
        return bootstrap_f1(self.tp, self.fp, missed, self.items - self.tp - self.fp - missed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (ints, floats, None, nested dicts)."""
        boot = self.f1_bootstrap()
        return {
            "items": self.items,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "no_verdict": self.no_verdict,
            "no_verdict_by_type": dict(sorted(self.no_verdict_by_type.items())),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "precision_ci": as_list(self.precision_ci),
            "recall_ci": as_list(self.recall_ci),
            "f1_ci": as_list(boot.interval),
            "f1_bootstrap": boot.to_dict(),
            "positives": self.positives,
            "accuracy": self.accuracy,
            "coverage": self.coverage,
            "cost_usd": self.cost_usd,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cached": self.cached,
            "latency_ms": {"p50": self.latency_p50_ms, "p95": self.latency_p95_ms},
        }


def run_metrics(items: Sequence[ScoredItem], positive: str) -> RunMetrics:
    """Compute :class:`RunMetrics` of ``items`` with ``positive`` as the positive label."""
    return tallied_metrics(
        [(it, 1) for it in items],
        positive,
        [it.cost_usd for it in items],
        [it.latency_ms for it in items],
        [it.tokens_in for it in items],
        [it.tokens_out for it in items],
    )


def tallied_metrics(
    groups: Iterable[tuple[ScoredItem, int]],
    positive: str,
    costs: Iterable[float | None],
    latencies: Iterable[float | None],
    tokens_in: Iterable[int | None],
    tokens_out: Iterable[int | None],
) -> RunMetrics:
    """:func:`run_metrics` from compact data (what the log can count for a 50,000-item run).

    ``groups``: ``(item, n)`` -- ``n`` items that share ``expected``, ``label``, ``outcome``, ``error_type``
    and ``cached`` with ``item`` (its other fields are not read). Then every item's ``cost_usd`` in item
    order (a float sum depends on its order), and its ``latency_ms``, ``tokens_in``, ``tokens_out``.
    """
    groups = list(groups)
    cells: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    n = positives = right = cached = 0
    for it, count in groups:
        n += count
        cells[cell(it, positive)] += count
        if (t := no_verdict_type(it)) is not None:
            by_type[t] += count
        if it.expected == positive:
            positives += count
        if correct(it):
            right += count
        if it.cached:
            cached += count
    tp, fp = cells["TP"], cells["FP"]
    precision = ratio(tp, tp + fp)
    recall = ratio(tp, positives)
    return RunMetrics(
        items=n,
        tp=tp,
        fp=fp,
        fn=cells["FN"],
        tn=cells["TN"],
        no_verdict=cells["NV"],
        no_verdict_by_type=dict(sorted(by_type.items())),
        precision=precision,
        recall=recall,
        f1=f1_score(precision, recall),
        accuracy=ratio(right, n),
        coverage=ratio(n - cells["NV"], n),
        cost_usd=float(sum(c for c in costs if c is not None)),
        tokens_in=sum(t for t in tokens_in if t is not None),
        tokens_out=sum(t for t in tokens_out if t is not None),
        cached=cached,
        latency_p50_ms=(lat := latency_percentiles(latencies))[0],
        latency_p95_ms=lat[1],
        positives=positives,
    )


def latency_percentiles(latencies: Iterable[float | None]) -> tuple[float | None, float | None]:
    """p50 and p95 of the latencies known (each None when none is), sorted once."""
    known = sorted(v for v in latencies if v is not None)
    return percentile(known, 50), percentile(known, 95)
