"""Exact McNemar test for paired replay comparisons (stdlib only, pure).

With ``b`` items fixed (wrong -> right) and ``c`` items regressed
(right -> wrong), ``n = b + c`` discordant pairs, the exact two-sided p-value is

    p = min(1, 2 * P(X <= min(b, c))),   X ~ Binomial(n, 1/2)

and ``p = 1.0`` when ``n == 0``. For ``n <= 1000`` the whole tail is summed with
exact integers and correctly rounded. For larger ``n`` the point probability
``P(X = min(b, c))`` is still computed exactly with big integers (``math.lgamma``
beyond 200,000) and multiplied by the tail's ratio to it, summed in floats
(relative error about 1e-14 up to n = 200,000, about n * 1e-16 beyond).
The result is never NaN or negative: an extremely small p underflows to ``0.0``.
"""

from __future__ import annotations

import math
from fractions import Fraction

EXACT_LIMIT = 1000  # n up to this: exact rational sum of the whole tail
PMF_EXACT_LIMIT = 200_000  # n up to this: exact (big-int) point probability


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for ``b`` fixed vs ``c`` regressed pairs."""
    for name, value in (("b", b), ("c", c)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    n, m = b + c, min(b, c)
    if n == 0 or 2 * m >= n:
        return 1.0  # P(X <= n/2) >= 1/2, so 2 * P >= 1
    if n <= EXACT_LIMIT:
        return _exact_p(n, m)
    return _large_n_p(n, m)


def _exact_p(n: int, m: int) -> float:
    """``min(1, 2 * sum_{k<=m} C(n, k) / 2**n)`` with exact rationals."""
    tail = sum(math.comb(n, k) for k in range(m + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def _twice_pmf(n: int, m: int) -> float:
    """``2 * P(X = m)`` for ``X ~ Binomial(n, 1/2)``, never NaN or negative.

    Up to ``PMF_EXACT_LIMIT`` it is the correctly rounded ``2 * C(n, m) / 2**n``
    (Python's int / int true division; underflows cleanly to 0.0). Beyond that,
    ``math.lgamma`` in log space (relative error about ``n * 1e-16``).
    """
    if n <= PMF_EXACT_LIMIT:
        return float(2 * math.comb(n, m) / 2**n)
    log_p = math.log(2) + math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1)
    log_p -= n * math.log(2)
    return math.exp(log_p) if log_p > -745.2 else 0.0


def _relative_tail(n: int, m: int) -> float:
    """``sum_{k<=m} pmf(k) / pmf(m)`` for ``m < n/2``.

    Walking down from ``m`` the term ratio is ``pmf(k-1)/pmf(k) = k/(n-k+1) < 1``,
    so the sum stays within ``[1, m+1]``; the walk stops once terms no longer
    change it.
    """
    rel_sum, term = 1.0, 1.0
    for k in range(m, 0, -1):
        term *= k / (n - k + 1)
        if term < rel_sum * 1e-17:
            break
        rel_sum += term
    return rel_sum


def _large_n_p(n: int, m: int) -> float:
    """``min(1, 2 * P(X <= m))`` as ``2 * pmf(m) * relative tail``."""
    return min(1.0, _twice_pmf(n, m) * _relative_tail(n, m))


def p_text(p: float) -> str:
    """A p-value as people read it: 3 significant digits, in scientific notation below 0.001 (`1.03e-07`),
    never `0.000`; `<1e-300` when the exact test underflowed."""
    if p == 0.0:
        return "<1e-300"
    return f"{p:.3g}" if p >= 0.001 else f"{p:.2e}"
