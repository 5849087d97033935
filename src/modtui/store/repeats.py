"""Queries on repeat runs (`replay --repeat N`): repeat 1 is the run's result row, repeats 2..N are result_repeat rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from modtui.store import sql

if TYPE_CHECKING:
    from sqlmodel import Session


def done_repeat_ids(db: Connection | Session, run_id: int, repeat: int) -> set[str]:
    query = text("SELECT item_id FROM result_repeat WHERE run_id = :run AND repeat = :repeat")
    return set(sql.connection_of(db).execute(query, {"run": run_id, "repeat": repeat}).scalars())


def set_repeats(db: Connection | Session, run_id: int, repeats: int) -> None:
    sql.update(sql.connection_of(db), "run", {"id": run_id}, {"repeats": repeats})


def outcomes_by_repeat(db: Connection | Session, run_id: int) -> dict[str, dict[int, tuple[str, str | None]]]:
    """item id → {repeat index: (outcome, label)} over every repeat of the run (1 from the result table)."""
    conn = sql.connection_of(db)
    out: dict[str, dict[int, tuple[str, str | None]]] = {}
    first = text("SELECT item_id, outcome, label FROM result WHERE run_id = :run")
    for item_id, outcome, label in conn.execute(first, {"run": run_id}):
        out.setdefault(item_id, {})[1] = (outcome, label)
    rest = text('SELECT item_id, "repeat", outcome, label FROM result_repeat WHERE run_id = :run')
    for item_id, repeat, outcome, label in conn.execute(rest, {"run": run_id}):
        out.setdefault(item_id, {})[repeat] = (outcome, label)
    return out


def repeat_cost(db: Connection | Session, run_id: int) -> tuple[float, int]:
    """The cost and the number of calls of repeats 2..N of a run."""
    query = text("SELECT coalesce(sum(cost_usd), 0.0), count(*) FROM result_repeat WHERE run_id = :run")
    cost, calls = sql.connection_of(db).execute(query, {"run": run_id}).one()
    return float(cost), int(calls)
