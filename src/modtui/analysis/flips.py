"""Paired comparison of two runs over the same items ("flips").

Items are paired by ``item_id``; items present on only one side are listed in
``only_baseline`` / ``only_candidate`` and never counted. For every paired item
(correctness as in :func:`modtui.analysis.metrics.correct`):

* **fixed** baseline wrong, candidate right (wrong -> right);
* **regressed** baseline right, candidate wrong (right -> wrong);
* **both_right** / **both_wrong** counts of the remaining pairs;
* **changed_label** items whose answer differs: a different label, or a label
  on one side only, or no verdict on both sides for different reasons (e.g.
  parse_error vs rate_limit) -- so it includes items that are wrong on both;
* **transitions** for items whose confusion cell ("TP", "FP", "FN", "TN", or
  "NV" for no verdict) changed, keyed ``"<baseline>→<candidate>"``, e.g.
  ``{"FN→TP": [...], "TN→FP": [...]}``;
* **mcnemar_p** exact two-sided McNemar p-value with b = len(fixed) and
  c = len(regressed) (see :mod:`modtui.analysis.significance`).

All id lists are sorted; transition keys are sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.metrics import ScoredItem, cell, correct, no_verdict_type
from modtui.analysis.significance import mcnemar_exact

ARROW = "→"


@dataclass(frozen=True, slots=True)
class FlipReport:
    """Result of :func:`compare`; see the module docstring for definitions."""

    paired: int
    fixed: tuple[str, ...]
    regressed: tuple[str, ...]
    both_right: int
    both_wrong: int
    changed_label: tuple[str, ...]
    transitions: dict[str, list[str]] = field(hash=False)
    only_baseline: tuple[str, ...]
    only_candidate: tuple[str, ...]
    mcnemar_p: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (ints, floats, lists of ids, dict of lists)."""
        return {
            "paired": self.paired,
            "fixed": list(self.fixed),
            "regressed": list(self.regressed),
            "both_right": self.both_right,
            "both_wrong": self.both_wrong,
            "changed_label": list(self.changed_label),
            "transitions": {k: list(v) for k, v in sorted(self.transitions.items())},
            "only_baseline": list(self.only_baseline),
            "only_candidate": list(self.only_candidate),
            "mcnemar_p": self.mcnemar_p,
        }


def index_by_id(items: Sequence[ScoredItem], side: str) -> dict[str, ScoredItem]:
    """Map item_id -> item; raise ``ValueError`` on a duplicated id."""
    out: dict[str, ScoredItem] = {}
    for it in items:
        if it.item_id in out:
            raise ValueError(f"duplicate item_id {it.item_id!r} in {side}")
        out[it.item_id] = it
    return out


def answer(item: ScoredItem) -> tuple[str | None, str | None]:
    """What the model answered: (label, no-verdict type); compared for changed_label."""
    return item.label, no_verdict_type(item)


def compare(baseline: Sequence[ScoredItem], candidate: Sequence[ScoredItem], positive: str) -> FlipReport:
    """Compare ``candidate`` against ``baseline`` item by item (paired by item_id)."""
    base = index_by_id(baseline, "baseline")
    cand = index_by_id(candidate, "candidate")
    pairs = [(base.get(i), cand.get(i), 1, (i,)) for i in base.keys() | cand.keys()]
    return compare_grouped(pairs, positive)


def compare_grouped(
    groups: Iterable[tuple[ScoredItem | None, ScoredItem | None, int, Sequence[str]]], positive: str
) -> FlipReport:
    """:func:`compare` from groups of pairs (what the log can count for two 50,000-item runs).

    Each group is ``(baseline, candidate, n, ids)``: ``n`` items with the same gold label whose baseline and
    candidate results are ``baseline`` and ``candidate`` (their ``expected``, ``label``, ``outcome`` and
    ``error_type``; None: no result on that side). ``ids`` names the ``n`` items (any order) whenever a side is
    missing or the two differ in label, outcome or error type; for equal sides it may be empty, as such pairs
    share answer, cell and correctness and only count as both right or both wrong.
    """
    fixed: list[str] = []
    regressed: list[str] = []
    changed: list[str] = []
    transitions: dict[str, list[str]] = {}
    only_base: list[str] = []
    only_cand: list[str] = []
    paired = both_right = both_wrong = 0
    for b, c, n, ids in groups:
        if b is None or c is None:
            (only_cand if b is None else only_base).extend(_named(ids, n))
            continue
        paired += n
        was, now = correct(b), correct(c)
        if was and now:
            both_right += n
        elif not was and not now:
            both_wrong += n
        else:
            (fixed if now else regressed).extend(_named(ids, n))
        if answer(b) != answer(c):
            changed.extend(_named(ids, n))
        cb, cc = cell(b, positive), cell(c, positive)
        if cb != cc:
            transitions.setdefault(f"{cb}{ARROW}{cc}", []).extend(_named(ids, n))
    for ids in (fixed, regressed, changed, only_base, only_cand, *transitions.values()):
        ids.sort()
    return FlipReport(
        paired=paired,
        fixed=tuple(fixed),
        regressed=tuple(regressed),
        both_right=both_right,
        both_wrong=both_wrong,
        changed_label=tuple(changed),
        transitions=dict(sorted(transitions.items())),
        only_baseline=tuple(only_base),
        only_candidate=tuple(only_cand),
        mcnemar_p=mcnemar_exact(len(fixed), len(regressed)),
    )


def _named(ids: Sequence[str], n: int) -> Sequence[str]:
    if len(ids) != n:
        raise ValueError(f"compare_grouped: a group of {n} pairs that differ names {len(ids)} items")
    return ids
