"""Production-volume estimates from a labelled random sample of traffic (pure).

The sample is stratified: stratum ``h`` has ``N_h`` posts in the population and ``n_h`` labelled
items, each with a weight ``w_i`` (default 1; a design weight when items were not drawn with equal
chance within their stratum). A population share is estimated by the stratified, weighted mean

    p̂ = Σ_h W_h · p̂_h,   W_h = N_h / N,   p̂_h = Σ_i w_i y_i / Σ_i w_i

and its variance by the usual linearisation with the finite-population correction
``(1 − n_h / N_h)``:

    Var(p̂) = Σ_h W_h² (1 − n_h/N_h) · n_h/(n_h − 1) · Σ_i (w_i/Σw)² (y_i − p̂_h)²

(for equal weights the inner term is the textbook ``s_h² / n_h``). Precision and recall are ratios
of two shares (``R = Y/X``); their variance is that of the linearised variable ``(y − R̂ x) / X̂``.

Intervals are Wilson score intervals on the **effective sample size** ``n_eff = p̂(1 − p̂) / Var(p̂)``
with the Student-t quantile for ``n − H`` degrees of freedom (``n`` items the share is over, ``H``
strata) in place of 1.96 (Korn and Graubard's approach for survey proportions): unlike
``p̂ ± 1.96·SE`` they stay inside [0, 1] and keep their coverage for the rare events moderation cares
about. When the variance is 0 (every sampled item alike) ``n_eff`` is the number of items the share is
over. A stratum with a single item adds no variance term (its variance cannot be estimated from one item).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054
METHOD = (
    "stratified weighted estimator; linearised variance with finite-population correction; "
    "Wilson interval on the effective sample size with a Student-t quantile (n - strata df)"
)


@dataclass(frozen=True, slots=True)
class SampledItem:
    """One labelled item of the sample: its stratum, weight, and whether it is positive by the gold
    label (``actual``) and by the model (``predicted``)."""

    stratum: str
    weight: float
    actual: bool
    predicted: bool


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float | None
    interval: tuple[float, float] | None
    n: int  # items the share is over

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "ci": None if self.interval is None else list(self.interval), "n": self.n}


def t_quantile_975(df: float) -> float:
    """The 0.975 quantile of Student's t: a Cornish-Fisher expansion around the normal's, within 1 % for
    df ≥ 3 and 0.2 % for df ≥ 5 (the normal's for df ≥ 10,000)."""
    if df >= 10_000:
        return Z95
    df = max(df, 3.0)
    z = Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def wilson_effective(p: float, n_eff: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a share ``p`` observed over an effective ``n_eff`` (> 0) items."""
    z2 = z * z
    denom = 1 + z2 / n_eff
    centre = (p + z2 / (2 * n_eff)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n_eff + z2 / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _strata(items: Iterable[SampledItem]) -> dict[str, list[SampledItem]]:
    out: dict[str, list[SampledItem]] = defaultdict(list)
    for it in items:
        out[it.stratum].append(it)
    return out


def _weights(population: dict[str, int], strata: dict[str, list[SampledItem]]) -> dict[str, float]:
    total = sum(population[h] for h in strata)
    return {h: population[h] / total for h in strata}


def ratio_estimate(
    items: Sequence[SampledItem], population: dict[str, int], numerator: str, denominator: str | None
) -> Estimate:
    """Estimate ``Σ numerator / Σ denominator`` over the population (``denominator`` None: a plain share).

    ``numerator``/``denominator`` name a predicate: ``actual``, ``predicted``, ``both`` (actual and
    predicted), ``fp`` (predicted, not actual), ``fn`` (actual, not predicted)."""
    num = _PREDICATES[numerator]
    den: Predicate = _PREDICATES[denominator] if denominator else (lambda _: True)
    strata = _strata(items)
    if not strata:
        return Estimate(None, None, 0)
    weight = _weights(population, strata)
    x_hat = y_hat = 0.0
    means: dict[str, tuple[float, float]] = {}
    for h, members in strata.items():
        sw = sum(it.weight for it in members)
        ym = sum(it.weight for it in members if num(it) and den(it)) / sw
        xm = sum(it.weight for it in members if den(it)) / sw
        means[h] = (ym, xm)
        y_hat += weight[h] * ym
        x_hat += weight[h] * xm
    n = sum(1 for it in items if den(it))
    if x_hat == 0:
        return Estimate(None, None, n)
    r = y_hat / x_hat
    variance = 0.0
    for h, members in strata.items():
        n_h = len(members)
        if n_h < 2:
            continue
        sw = sum(it.weight for it in members)
        ym, xm = means[h]
        # the linearised variable of the ratio, centred within the stratum
        resid = sum(
            ((it.weight / sw) * ((float(num(it) and den(it)) - ym) - r * (float(den(it)) - xm))) ** 2 for it in members
        )
        fpc = max(0.0, 1 - n_h / population[h])
        variance += weight[h] ** 2 * fpc * n_h / (n_h - 1) * resid / (x_hat * x_hat)
    if n == 0:
        return Estimate(r, None, 0)
    n_eff = r * (1 - r) / variance if variance > 0 else float(n)
    return Estimate(r, wilson_effective(r, max(n_eff, 1e-9), t_quantile_975(n - len(strata))), n)


Predicate = Callable[["SampledItem"], bool]
_PREDICATES: dict[str, Predicate] = {
    "actual": lambda it: it.actual,
    "predicted": lambda it: it.predicted,
    "both": lambda it: it.actual and it.predicted,
    "fp": lambda it: it.predicted and not it.actual,
    "fn": lambda it: it.actual and not it.predicted,
}


@dataclass(frozen=True, slots=True)
class VolumeEstimate:
    precision: Estimate
    recall: Estimate
    prevalence: Estimate
    predicted_positive_rate: Estimate
    fp_rate: Estimate  # share of all posts that are false positives
    fn_rate: Estimate  # share of all posts that are false negatives


def estimate(items: Sequence[SampledItem], population: dict[str, int]) -> VolumeEstimate:
    """Precision, recall, prevalence, predicted-positive rate and FP/FN shares of the population."""
    missing = sorted({it.stratum for it in items} - set(population))
    if missing:
        raise ValueError(f"no population size for stratum {missing[0]!r}")
    return VolumeEstimate(
        precision=ratio_estimate(items, population, "actual", "predicted"),
        recall=ratio_estimate(items, population, "predicted", "actual"),
        prevalence=ratio_estimate(items, population, "actual", None),
        predicted_positive_rate=ratio_estimate(items, population, "predicted", None),
        fp_rate=ratio_estimate(items, population, "fp", None),
        fn_rate=ratio_estimate(items, population, "fn", None),
    )


def sample_size(population: int, expected_share: float, halfwidth: float, z: float = Z95) -> int:
    """Items to label so a share near ``expected_share`` gets a 95 % interval of about ± ``halfwidth``:
    ``n0 = z² p(1 − p) / h²`` with the finite-population correction ``n0 / (1 + (n0 − 1) / N)``."""
    if not 0 < expected_share < 1 or not 0 < halfwidth < 1 or population < 1:
        raise ValueError("need 0 < share < 1, 0 < halfwidth < 1 and a population of at least 1")
    n0 = z * z * expected_share * (1 - expected_share) / (halfwidth * halfwidth)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))
