"""Evasion probes, scored: how often a label-preserving variant of an item gets another label than its parent.

A flip is a variant whose label differs from its parent's label in the same run. Only pairs where both the
parent and the variant got a verdict count; the others are `no_verdict`. The flip rate carries a 95% Wilson
interval. `by_rule` cuts the counts by the policy rules of the parent (see services.probe for which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.intervals import wilson
from modtui.analysis.stats import ratio


@dataclass(frozen=True, slots=True)
class Variant:
    """A derived item: `parent_id`'s content after `mutation` with random seed `seed`."""

    id: str
    parent_id: str
    mutation: str
    seed: int
    content: str


@dataclass(frozen=True, slots=True)
class FlippedItem:
    parent_id: str
    variant_id: str
    variant: str
    parent_label: str
    variant_label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent_id": self.parent_id,
            "variant_id": self.variant_id,
            "variant": self.variant,
            "parent_label": self.parent_label,
            "variant_label": self.variant_label,
        }


@dataclass
class MutationResult:
    name: str
    variants: int = 0
    flipped: int = 0
    no_verdict: int = 0
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    flipped_items: list[FlippedItem] = field(default_factory=list)

    @property
    def flip_rate(self) -> float | None:
        return ratio(self.flipped, self.variants)

    @property
    def flip_rate_ci(self) -> tuple[float, float] | None:
        return wilson(self.flipped, self.variants)

    def to_dict(self) -> dict[str, Any]:
        ci = self.flip_rate_ci
        return {
            "name": self.name,
            "variants": self.variants,
            "flipped": self.flipped,
            "flip_rate": None if self.flip_rate is None else round(self.flip_rate, 4),
            "flip_rate_ci": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
            "no_verdict": self.no_verdict,
            "by_rule": self.by_rule,
            "flipped_items": [f.to_dict() for f in self.flipped_items],
        }


def mutation_results(
    mutations: Sequence[str],
    variants: Sequence[Variant],
    labels: Mapping[str, str | None],
    rules: Mapping[str, Sequence[str]] | None = None,
) -> list[MutationResult]:
    """One result per mutation (in the order given) from the run's labels by item id (None: no verdict)."""
    out = {name: MutationResult(name) for name in mutations}
    for v in variants:
        result = out.get(v.mutation)
        if result is None:
            continue
        parent, label = labels.get(v.parent_id), labels.get(v.id)
        if parent is None or label is None:
            result.no_verdict += v.id in labels and v.parent_id in labels
            continue
        flipped = parent != label
        result.variants += 1
        result.flipped += flipped
        for rule in (rules or {}).get(v.parent_id, ()):
            counts = result.by_rule.setdefault(rule, {"variants": 0, "flipped": 0})
            counts["variants"] += 1
            counts["flipped"] += flipped
        if flipped:
            result.flipped_items.append(FlippedItem(v.parent_id, v.id, v.content, parent, label))
    return list(out.values())


def worst_rules(results: Sequence[MutationResult], limit: int = 5) -> list[dict[str, Any]]:
    """Rules by flips over every mutation, most flipped first (ties: higher flip rate, then name)."""
    totals: dict[str, list[int]] = {}
    for result in results:
        for rule, counts in result.by_rule.items():
            t = totals.setdefault(rule, [0, 0])
            t[0] += counts["variants"]
            t[1] += counts["flipped"]
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][1], -(ratio(kv[1][1], kv[1][0]) or 0.0), kv[0]))
    return [
        {"rule": rule, "variants": n, "flipped": f, "flip_rate": ratio(f, n)} for rule, (n, f) in ranked[:limit] if f
    ]
