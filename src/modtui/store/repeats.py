"""Queries on repeat runs (`replay --repeat N`): repeat 1 is the run's result row, repeats 2..N are result_repeat rows."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from modtui.store.tables import ResultRepeatRow, ResultRow, RunRow


def done_repeat_ids(session: Session, run_id: int, repeat: int) -> set[str]:
    query = select(ResultRepeatRow.item_id).where(ResultRepeatRow.run_id == run_id, ResultRepeatRow.repeat == repeat)
    return set(session.exec(query))


def set_repeats(session: Session, run_id: int, repeats: int) -> None:
    run = session.get(RunRow, run_id)
    if run is not None and run.repeats != repeats:
        run.repeats = repeats
        session.add(run)


def outcomes_by_repeat(session: Session, run_id: int) -> dict[str, dict[int, tuple[str, str | None]]]:
    """item id → {repeat index: (outcome, label)} over every repeat of the run (1 from the result table)."""
    out: dict[str, dict[int, tuple[str, str | None]]] = {}
    first = sa_select(col(ResultRow.item_id), col(ResultRow.outcome), col(ResultRow.label)).where(
        col(ResultRow.run_id) == run_id
    )
    for item_id, outcome, label in session.connection().execute(first):
        out.setdefault(item_id, {})[1] = (outcome, label)
    rest = sa_select(
        col(ResultRepeatRow.item_id),
        col(ResultRepeatRow.repeat),
        col(ResultRepeatRow.outcome),
        col(ResultRepeatRow.label),
    ).where(col(ResultRepeatRow.run_id) == run_id)
    for item_id, repeat, outcome, label in session.connection().execute(rest):
        out.setdefault(item_id, {})[repeat] = (outcome, label)
    return out


def repeat_cost(session: Session, run_id: int) -> tuple[float, int]:
    """The cost and the number of calls of repeats 2..N of a run."""
    query = sa_select(func.coalesce(func.sum(ResultRepeatRow.cost_usd), 0.0), func.count()).where(
        col(ResultRepeatRow.run_id) == run_id
    )
    cost, calls = session.connection().execute(query).one()
    return float(cost), int(calls)
