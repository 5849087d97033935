"""Spending caps for a replay (`replay --max-cost`, a target's `max_cost_per_run`).

Before each call the engine reserves the call's estimated cost in every budget the run is under; a call
that would take spent + reserved past a cap is not made, and from then on no new call is scheduled under
that budget (calls already in flight finish and are kept). When a call ends, its reservation is replaced
by what it really cost. So a replay stops within one round of in-flight calls of its cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Budget:
    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    exhausted: bool = False

    def fits(self, estimate: float) -> bool:
        return not self.exhausted and self.spent_usd + self.reserved_usd + estimate <= self.cap_usd


def reserve(budgets: Sequence[Budget], estimate: float) -> bool:
    """Reserve `estimate` in every budget, or in none (and mark those it does not fit in exhausted)."""
    short = [b for b in budgets if not b.fits(estimate)]
    for budget in short:
        budget.exhausted = True
    if short:
        return False
    for budget in budgets:
        budget.reserved_usd += estimate
    return True


def settle(budgets: Sequence[Budget], estimate: float, actual: float) -> None:
    """A reserved call ended: its estimate is released and what it cost is spent."""
    for budget in budgets:
        budget.reserved_usd -= estimate
        budget.spent_usd += actual
