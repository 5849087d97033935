"""Model selection: which runs are Pareto-optimal on quality, cost and latency (pure).

A run is described by F1 (higher is better), cost per 1,000 items and p95 latency (both lower is
better). A run is **dominated** when another run is at least as good on all three and strictly better
on one; the **frontier** is the runs no other run dominates. An unknown value (F1 undefined, no
latency recorded) counts as the worst on that axis, so a run is never on the frontier because of a
figure it does not have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    """One run's position: ``f1`` (None = undefined), ``cost_per_1k`` USD, ``p95_ms`` (None = unknown)."""

    f1: float | None
    cost_per_1k: float
    p95_ms: float | None

    def axes(self) -> tuple[float, float, float]:
        """All three as 'lower is better', unknowns last."""
        return (
            -(self.f1 if self.f1 is not None else -math.inf),
            self.cost_per_1k,
            self.p95_ms if self.p95_ms is not None else math.inf,
        )


def dominates(a: Candidate, b: Candidate) -> bool:
    """True when ``a`` is at least as good as ``b`` on every axis and better on one."""
    pa, pb = a.axes(), b.axes()
    return all(x <= y for x, y in zip(pa, pb)) and any(x < y for x, y in zip(pa, pb))


def pareto_flags(candidates: Sequence[Candidate]) -> list[bool]:
    """For each candidate, whether no other candidate dominates it (ties on every axis all stay on)."""
    return [
        not any(dominates(other, c) for j, other in enumerate(candidates) if j != i) for i, c in enumerate(candidates)
    ]
