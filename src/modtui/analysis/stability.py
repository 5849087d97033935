"""Repeat stability: how often a target × prompt gives an item the same verdict when asked again.

Each item has one verdict per repeat (a label, or the outcome when there was no verdict: `parse_error`,
`error`...). Over the items with every repeat recorded:

* ``unanimous``: the share of items whose repeats all agree;
* ``flip_rate``: the share of pairs of repeats of one item (N·(N-1)/2 per item) that differ;
* ``majority_f1``: F1 on the positive label of the majority verdict (a tie goes to the verdict of the
  earliest repeat among the tied ones; a majority of no verdict scores as no verdict).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.metrics import ScoredItem, run_metrics
from modtui.analysis.stats import ratio
from modtui.domain.verdict import Outcome

NO_VERDICT = "no_verdict:"  # prefix of a repeat's verdict when it was not a label (no_verdict:parse_error)


@dataclass(frozen=True)
class UnstableItem:
    item_id: str
    verdicts: tuple[str, ...]  # by repeat index, 1..N

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "verdicts": list(self.verdicts)}


@dataclass(frozen=True)
class Stability:
    repeats: int
    items: int  # items with all repeats recorded
    unanimous: float | None
    flip_rate: float | None
    majority_f1: float | None
    unstable: list[UnstableItem] = field(default_factory=list)
    cost_usd: float = 0.0  # of every call of the run, repeats included

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        return {
            "repeats": self.repeats,
            "items": self.items,
            "unanimous": _round(self.unanimous),
            "flip_rate": _round(self.flip_rate),
            "majority_f1": _round(self.majority_f1),
            "unstable": [u.to_dict() for u in self.unstable[:limit]],
            "cost_usd": self.cost_usd,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def verdict(outcome: str, label: str | None) -> str:
    """A repeat's verdict as compared: the label, or `no_verdict:OUTCOME`."""
    return label if outcome == Outcome.LABEL and label is not None else NO_VERDICT + outcome


def stability(
    verdicts: Mapping[str, Sequence[str]],
    repeats: int,
    expected: Mapping[str, str],
    positive: str,
    cost_usd: float = 0.0,
) -> Stability:
    """Figures over `verdicts` (item id → verdicts by repeat, 1..N); items with fewer than N are left out."""
    complete = {item: tuple(vs) for item, vs in verdicts.items() if len(vs) == repeats and item in expected}
    pairs = differing = unanimous = 0
    unstable, majority = [], []
    for item_id in sorted(complete):
        vs = complete[item_id]
        counts = Counter(vs)
        same = sum(n * (n - 1) // 2 for n in counts.values())
        total = repeats * (repeats - 1) // 2
        pairs += total
        differing += total - same
        if len(counts) == 1:
            unanimous += 1
        else:
            unstable.append(UnstableItem(item_id, vs))
        majority.append(_scored(item_id, expected[item_id], _majority(vs, counts)))
    metrics = run_metrics(majority, positive)
    return Stability(
        repeats,
        len(complete),
        ratio(unanimous, len(complete)),
        ratio(differing, pairs),
        metrics.f1 if complete else None,
        unstable,
        cost_usd,
    )


def _majority(vs: Sequence[str], counts: Counter[str]) -> str:
    top = max(counts.values())
    return next(v for v in vs if counts[v] == top)


def _scored(item_id: str, expected: str, winner: str) -> ScoredItem:
    if winner.startswith(NO_VERDICT):
        return ScoredItem(item_id, expected, None, winner.removeprefix(NO_VERDICT))
    return ScoredItem(item_id, expected, winner)
