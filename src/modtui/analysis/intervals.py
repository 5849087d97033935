"""Confidence intervals for the rates modtui shows (stdlib only, pure).

* **Wilson score interval** (95 % by default) for a proportion ``k / n``:
  centre ``(p + z²/2n) / (1 + z²/n)``, half-width ``z·sqrt(p(1−p)/n + z²/4n²) / (1 + z²/n)``;
  ``None`` when ``n == 0``. Precision's is on ``TP / (TP + FP)``, recall's on ``TP / positives``
  (positives include those without a verdict, as recall itself does).
* **Bootstrap F1 interval**: the items are resampled with replacement ``resamples`` times (default
  1,000) from a seeded generator. F1 only depends on how many resampled items are TP, FP or a missed
  positive (FN or no verdict on a positive item), so each resample is one multinomial draw of those
  counts (conditional binomials), not ``n`` draws: a 50,000-item run costs the same as a 50-item one.
  A resample's F1 is ``2TP / (2TP + FP + missed)``; resamples where F1 is undefined (no item predicted
  positive, or no positive item) are dropped. The interval is the 2.5th and 97.5th percentile of the
  rest (linear interpolation, :func:`modtui.analysis.stats.percentile`); ``None`` when the run's own F1
  is undefined. The same seed gives the same interval on every machine and Python version.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modtui.analysis.stats import percentile

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20261203

Interval = tuple[float, float]


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """Wilson score interval of ``successes / n``; ``None`` when ``n`` is 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact bounds where rounding would miss them
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def as_list(interval: Interval | None) -> list[float] | None:
    """An interval as JSON writes it: ``[lo, hi]`` or ``null``."""
    return None if interval is None else [interval[0], interval[1]]


@dataclass(frozen=True, slots=True)
class BootstrapF1:
    """A seeded percentile-bootstrap interval of F1 and how it was drawn."""

    interval: Interval | None
    resamples: int
    seed: int
    used: int  # resamples with a defined F1

    def to_dict(self) -> dict[str, Any]:
        return {"resamples": self.resamples, "seed": self.seed, "used": self.used}


def f1_from_counts(tp: int, fp: int, missed: int) -> float | None:
    """F1 as metrics define it: ``None`` without predicted positives or without positive items."""
    if tp + fp == 0 or tp + missed == 0:
        return None
    return 2 * tp / (2 * tp + fp + missed)


@functools.lru_cache(maxsize=1024)  # seeded, so a function of its arguments: a report asks for each run's twice
def bootstrap_f1(
    tp: int,
    fp: int,
    missed: int,
    others: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> BootstrapF1:
    """Percentile bootstrap of F1 over ``tp + fp + missed + others`` items (``missed``: positive items not
    predicted positive, with or without a verdict; ``others``: the rest)."""
    if min(tp, fp, missed, others) < 0 or resamples < 1:
        raise ValueError("counts must be >= 0 and resamples >= 1")
    if f1_from_counts(tp, fp, missed) is None:
        return BootstrapF1(None, resamples, seed, 0)
    n = tp + fp + missed + others
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(resamples):
        t, f, m, _rest = multinomial(rng, n, (tp / n, fp / n, missed / n, others / n))
        if (score := f1_from_counts(t, f, m)) is not None:
            values.append(score)
    if not values:
        return BootstrapF1(None, resamples, seed, 0)
    tail = (1 - level) / 2 * 100
    lo, hi = percentile(values, tail), percentile(values, 100 - tail)
    assert lo is not None and hi is not None
    return BootstrapF1((lo, hi), resamples, seed, len(values))


def multinomial(rng: random.Random, n: int, probs: Sequence[float]) -> list[int]:
    """One multinomial draw of ``n`` trials: each category a binomial of what the earlier ones left."""
    counts: list[int] = []
    left, mass = n, 1.0
    for p in probs[:-1]:
        k = binomial(rng, left, min(1.0, p / mass)) if left and mass > 0 else 0
        counts.append(k)
        left -= k
        mass -= p
    counts.append(left)
    return counts


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A Binomial(n, p) draw: geometric skips when n·p is small, else Hörmann's BTRS (the algorithm of
    CPython 3.12's ``random.binomialvariate``, here so that 3.11 draws the same numbers)."""
    if p <= 0.0 or n == 0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    if n * p < 10.0:
        x = y = 0
        c = math.log(1.0 - p)
        if not c:
            return x
        while True:
            y += math.floor(math.log(1.0 - rng.random()) / c) + 1
            if y > n:
                return x
            x += 1
    return _btrs(rng, n, p)


def _btrs(rng: random.Random, n: int, p: float) -> int:
    """Transformed rejection with squeeze (Hörmann 1993), for n·p >= 10 and p <= 0.5."""
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / (1.0 - p))
    m = math.floor((n + 1) * p)
    h = math.lgamma(m + 1) + math.lgamma(n - m + 1)
    while True:
        u = rng.random() - 0.5
        us = 0.5 - abs(u)
        if us <= 0.0:  # u = -0.5 exactly: the transformation is undefined there
            continue
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        v = rng.random()
        if us >= 0.07 and v <= vr:
            return k
        v *= alpha / (a / (us * us) + b)
        if v > 0 and math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - m) * lpq:
            return k


def with_interval(value: float | None, interval: Sequence[float] | None, none: str = "-") -> str:
    """A rate as tables show it: ``0.750 [0.53–0.89]`` (``none`` when there is no value)."""
    if value is None:
        return none
    return f"{value:.3f}" if interval is None else f"{value:.3f} [{interval[0]:.2f}–{interval[1]:.2f}]"
