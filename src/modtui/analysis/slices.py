"""Metrics cut by a key: where a run's errors concentrate, and where a candidate fixed or regressed.

A *keying* maps an item id to the slice keys it belongs to: one key for a kind, a meta field or a
near-duplicate cluster; any number for the rules a verdict cited (an item citing two rules is in both
slices). An item with no key is in the slice :data:`NONE`.

Each slice's figures are :func:`modtui.analysis.metrics.run_metrics` on its items, with 95 % Wilson
intervals on precision and recall (``None`` when the denominator is 0). A slice is ``small`` when it
has fewer than ``min_n`` items (default :data:`MIN_N`): its rates are shown but not to be trusted alone.
Slices are sorted by errors (FP + FN) descending, then by size descending, then by key.

Numeric meta fields (every present value an int, a float or a decimal text such as a CSV cell "12")
with more distinct values than ``bins`` are bucketed into ``bins`` equal-width bins between the
smallest and the largest value, each ``[lo, hi)`` except the last, which is closed ``[lo, hi]``.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modtui.analysis.flips import compare
from modtui.analysis.intervals import as_list
from modtui.analysis.metrics import RunMetrics, ScoredItem, cell, run_metrics

NONE = "(none)"
MIN_N = 30
DEFAULT_BINS = 5

Keying = Callable[[str], Sequence[str]]


@dataclass(frozen=True, slots=True)
class Slice:
    """One slice's metrics; ``cited_fp_items`` only for a cut by cited rule."""

    key: str
    metrics: RunMetrics
    small: bool
    cited_fp_items: tuple[str, ...] | None = None

    @property
    def errors(self) -> int:
        return self.metrics.fp + self.metrics.fn

    def to_dict(self) -> dict[str, Any]:
        m = self.metrics
        out: dict[str, Any] = {
            "key": self.key,
            "items": m.items,
            "tp": m.tp,
            "fp": m.fp,
            "fn": m.fn,
            "tn": m.tn,
            "no_verdict": m.no_verdict,
            "precision": m.precision,
            "recall": m.recall,
            "f1": m.f1,
            "precision_ci": as_list(m.precision_ci),
            "recall_ci": as_list(m.recall_ci),
            "small": self.small,
        }
        if self.cited_fp_items is not None:
            out["cited_fp_items"] = list(self.cited_fp_items)
        return out


@dataclass(frozen=True, slots=True)
class SliceFlips:
    """One slice of a paired comparison: items fixed and regressed, and both sides' metrics."""

    key: str
    items: int  # paired items in the slice
    fixed: tuple[str, ...]
    regressed: tuple[str, ...]
    baseline: Slice
    candidate: Slice

    def to_dict(self) -> dict[str, Any]:
        def side(s: Slice) -> dict[str, Any]:
            return {k: v for k, v in s.to_dict().items() if k not in ("key", "small")}

        return {
            "key": self.key,
            "items": self.items,
            "fixed": len(self.fixed),
            "regressed": len(self.regressed),
            "fixed_items": list(self.fixed),
            "regressed_items": list(self.regressed),
            "small": self.baseline.small,
            "baseline": side(self.baseline),
            "candidate": side(self.candidate),
        }


def group(items: Iterable[ScoredItem], keys_of: Keying) -> dict[str, list[ScoredItem]]:
    """Items by slice key (an item under each of its keys; :data:`NONE` when it has none)."""
    out: dict[str, list[ScoredItem]] = {}
    for it in items:
        for key in dict.fromkeys(keys_of(it.item_id)) or (NONE,):
            out.setdefault(key, []).append(it)
    return out


def slice_metrics(
    items: Sequence[ScoredItem], keys_of: Keying, positive: str, min_n: int = MIN_N, cited_fp: bool = False
) -> list[Slice]:
    """Every slice's metrics, most errors first; ``cited_fp`` adds the ids of each slice's false positives."""
    if min_n < 0:
        raise ValueError(f"min_n must be >= 0, got {min_n}")
    out = []
    for key, members in group(items, keys_of).items():
        fps = tuple(sorted(it.item_id for it in members if cell(it, positive) == "FP")) if cited_fp else None
        out.append(Slice(key, run_metrics(members, positive), len(members) < min_n, fps))
    return sorted(out, key=lambda s: (-s.errors, -s.metrics.items, s.key))


def slice_flips(
    baseline: Sequence[ScoredItem], candidate: Sequence[ScoredItem], keys_of: Keying, positive: str, min_n: int = MIN_N
) -> list[SliceFlips]:
    """Per slice, the paired items' flips (as :func:`modtui.analysis.flips.compare`) and both sides' metrics;
    most regressions first, then most fixes. Only items present in both runs are counted."""
    cand_ids = {it.item_id for it in candidate}
    base_ids = {it.item_id for it in baseline}
    base_groups = group((it for it in baseline if it.item_id in cand_ids), keys_of)
    cand_groups = group((it for it in candidate if it.item_id in base_ids), keys_of)
    out = []
    for key, base in base_groups.items():
        cand = cand_groups.get(key, [])
        flips = compare(base, cand, positive)
        small = len(base) < min_n
        out.append(
            SliceFlips(
                key,
                flips.paired,
                flips.fixed,
                flips.regressed,
                Slice(key, run_metrics(base, positive), small),
                Slice(key, run_metrics(cand, positive), small),
            )
        )
    return sorted(out, key=lambda s: (-len(s.regressed), -len(s.fixed), -s.items, s.key))


# -- keyings ----------------------------------------------------------------------------------------


def single(keys: Mapping[str, str | None]) -> Keying:
    """A keying with at most one key per item (kind, cluster...)."""
    return lambda item_id: () if (k := keys.get(item_id)) is None else (k,)


def several(keys: Mapping[str, Sequence[str]]) -> Keying:
    """A keying with any number of keys per item (cited rules)."""
    return lambda item_id: keys.get(item_id, ())


def meta_keys(metas: Mapping[str, Mapping[str, Any]], field: str, bins: int = DEFAULT_BINS) -> dict[str, str | None]:
    """item id → the slice key of its meta ``field`` (``None`` when missing, null or empty)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    values = {item_id: meta.get(field) for item_id, meta in metas.items()}
    present = {k: v for k, v in values.items() if v is not None and v != ""}
    numbers = {k: n for k, v in present.items() if (n := as_number(v)) is not None}
    if present and len(numbers) == len(present) and len(set(numbers.values())) > bins:
        labels = bin_labels(min(numbers.values()), max(numbers.values()), bins)
        edges = bin_edges(min(numbers.values()), max(numbers.values()), bins)
        return {k: labels[bin_index(numbers[k], edges)] if k in numbers else None for k in values}
    return {k: text_key(v) if k in present else None for k, v in values.items()}


def as_number(value: Any) -> float | None:
    """A finite number from an int, a float or a decimal text; ``None`` for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf"):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def text_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def bin_edges(lo: float, hi: float, bins: int) -> list[float]:
    return [lo + (hi - lo) * i / bins for i in range(bins)] + [hi]


def bin_index(value: float, edges: Sequence[float]) -> int:
    """The bin of ``value``: ``edges[i] <= value < edges[i + 1]``, the last bin closed."""
    return min(max(bisect.bisect_right(edges, value) - 1, 0), len(edges) - 2)


def bin_labels(lo: float, hi: float, bins: int) -> list[str]:
    edges = bin_edges(lo, hi, bins)
    return [f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == bins - 1 else ')'}" for i in range(bins)]
