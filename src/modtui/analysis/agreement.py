"""Are the gold labels reliable? Agreement between human annotators, and between a run and the gold labels.

``annotations`` maps an item id to ``{annotator: label}``.

* **Cohen's κ** of two raters on the items both labelled: ``(p_o − p_e) / (1 − p_e)``, ``p_o`` the share
  of those items they agree on, ``p_e = Σ_k a_k·b_k`` with ``a_k``, ``b_k`` the share of the items each
  gave label k. ``None`` when they share no item or ``p_e == 1`` (both gave one and the same label to
  everything: agreement beyond chance is undefined).
* **Fleiss' κ** on the items with the modal number ``m`` of annotators among items with at least two
  (ties: the larger number): ``(P̄ − P̄_e) / (1 − P̄_e)``, ``P̄`` the mean over items of
  ``(Σ_k n_k² − m) / (m(m − 1))`` and ``P̄_e = Σ_k p_k²`` with ``p_k`` the share of all their labels
  that are k. ``None`` without such items or when ``P̄_e == 1``.
* **disagreements**: ids of items whose annotators gave more than one distinct label.
* **kappa_vs_gold**: Cohen's κ between a run's labels and the gold labels, on the items with a verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from modtui.analysis.metrics import ScoredItem

Annotations = Mapping[str, Mapping[str, str]]


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's κ of two equally long label sequences (pairs by position)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa needs two sequences of the same length")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def fleiss_kappa(counts: Sequence[Mapping[str, int]]) -> float | None:
    """Fleiss' κ of items that each have the same number of ratings (``counts``: label → ratings per item)."""
    if not counts:
        return None
    m = sum(counts[0].values())
    if m < 2 or any(sum(c.values()) != m for c in counts):
        raise ValueError("fleiss_kappa needs at least two ratings per item, the same number on every item")
    n = len(counts)
    p_bar = sum((sum(v * v for v in c.values()) - m) / (m * (m - 1)) for c in counts) / n
    totals: Counter[str] = Counter()
    for c in counts:
        totals.update(c)
    p_e = sum((v / (n * m)) ** 2 for v in totals.values())
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1 - p_e)


@dataclass(frozen=True, slots=True)
class PairAgreement:
    a: str
    b: str
    n: int
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "n": self.n, "kappa": self.kappa}


@dataclass(frozen=True, slots=True)
class Agreement:
    annotators: tuple[str, ...]
    items_annotated: int
    pairwise: tuple[PairAgreement, ...]
    fleiss_kappa: float | None
    fleiss_items: int
    fleiss_raters: int | None
    disagreements: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotators": list(self.annotators),
            "items_annotated": self.items_annotated,
            "pairwise": [p.to_dict() for p in self.pairwise],
            "fleiss_kappa": self.fleiss_kappa,
            "fleiss_items": self.fleiss_items,
            "fleiss_raters": self.fleiss_raters,
            "disagreements": list(self.disagreements),
        }


def agreement(annotations: Annotations) -> Agreement:
    labelled = {item: dict(marks) for item, marks in annotations.items() if marks}
    annotators = tuple(sorted({who for marks in labelled.values() for who in marks}))
    pairs = []
    for a, b in combinations(annotators, 2):
        both = [m for m in labelled.values() if a in m and b in m]
        pairs.append(PairAgreement(a, b, len(both), cohen_kappa([m[a] for m in both], [m[b] for m in both])))
    sizes = Counter(len(m) for m in labelled.values() if len(m) >= 2)
    raters = max(sizes, key=lambda size: (sizes[size], size)) if sizes else None
    rows = [Counter(m.values()) for m in labelled.values() if len(m) == raters]
    disagreements = tuple(sorted(item for item, m in labelled.items() if len(set(m.values())) > 1))
    return Agreement(
        annotators, len(labelled), tuple(pairs), fleiss_kappa(rows) if rows else None, len(rows), raters, disagreements
    )


def kappa_vs_gold(items: Sequence[ScoredItem]) -> float | None:
    """Cohen's κ between the run's labels and the gold labels, on items with a verdict."""
    judged = [it for it in items if it.label is not None]
    return cohen_kappa([it.label for it in judged if it.label is not None], [it.expected for it in judged])
