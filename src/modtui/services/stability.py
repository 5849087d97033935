"""Repeat stability of a stored run (analysis.stability over the store's repeat verdicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modtui.analysis.stability import Stability, stability, verdict


@dataclass(frozen=True)
class RepeatVerdicts:
    repeats: int
    verdicts: dict[str, list[str]]  # item id → verdict of each recorded repeat, in repeat order
    repeat_cost: float  # of repeats 2..N


def read_repeats(session: Any, run_id: int, repeats: int) -> RepeatVerdicts | None:
    """A run's verdicts by repeat (None for a run of one call per item)."""
    from modtui.store import repeats as q

    if repeats <= 1:
        return None
    by_item = q.outcomes_by_repeat(session, run_id)
    verdicts = {
        item: [verdict(*calls[k]) for k in range(1, repeats + 1) if k in calls] for item, calls in by_item.items()
    }
    return RepeatVerdicts(repeats, verdicts, q.repeat_cost(session, run_id)[0])


def figures(
    data: RepeatVerdicts | None, expected: Mapping[str, str], positive: str, first_cost: float
) -> Stability | None:
    """The stability figures; `first_cost` is repeat 1's cost (the run's metrics)."""
    if data is None:
        return None
    return stability(data.verdicts, data.repeats, expected, positive, first_cost + data.repeat_cost)


def run_stability(
    session: Any, run_id: int, repeats: int, expected: Mapping[str, str], positive: str, first_cost: float
) -> Stability | None:
    return figures(read_repeats(session, run_id, repeats), expected, positive, first_cost)
