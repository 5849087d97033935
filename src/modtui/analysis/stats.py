"""Small numeric helpers shared by the analysis modules (stdlib only, pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def ratio(num: int, den: int) -> float | None:
    """Return ``num / den`` as a float, or ``None`` when ``den`` is 0."""
    return num / den if den else None


def f1_score(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean ``2PR / (P + R)``.

    ``None`` when either input is ``None``; ``0.0`` when ``P + R == 0``.
    """
    if precision is None or recall is None:
        return None
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    Same as numpy's default ``percentile`` (method ``"linear"``): on the sorted
    values ``x[0..n-1]`` the rank is ``h = (n - 1) * q / 100`` and the result is
    ``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``.
    ``None`` for an empty sequence.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    xs = sorted(map(float, values))
    if not xs:
        return None
    h = (len(xs) - 1) * q / 100
    lo = math.floor(h)
    if lo >= len(xs) - 1:
        return xs[-1]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])
