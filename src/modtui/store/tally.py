"""The log's side of a replay's report: one run's results counted in the database, no row per result in Python.

`run_tally` groups a run's results over the incident's items by gold label and answer (outcome, label, error type,
cached) and confidence — a handful of groups for a 25,000-item offline run — and reads only the two float columns
whose use depends on every value (costs in item order, latencies). What `services.replay.report` builds from it
equals what it builds from every scored result (tests/test_report_tallied.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from modtui.store.compare import driver_rows
from modtui.store.records import ResultGroup, RunTally, RunTotals

_OF_RUN = "FROM result r JOIN item i ON i.incident_id = :inc AND i.item_id = r.item_id WHERE r.run_id = :run"


def run_tally(conn: Connection, incident_id: str, run_id: int) -> RunTally:
    """Run `run_id`'s results for the items the incident holds now (a result of an item since removed is left out,
    as scoring leaves it out), counted by the item's gold label, the answer and the confidence. The costs and
    latencies are read only when some are there to read: a run served from the log (no cost, no latency) or the
    offline baseline's (no cost) has none of its rows read twice."""
    params: dict[str, Any] = {"inc": incident_id, "run": run_id}
    groups = driver_rows(
        conn,
        text(
            "SELECT i.expected, r.outcome, r.label, r.error_type, r.cached, r.confidence, count(*), "
            f"sum(r.tokens_in), sum(r.tokens_out), count(NULLIF(r.cost_usd, 0)), count(r.latency_ms) {_OF_RUN} "
            "GROUP BY i.expected, r.outcome, r.label, r.error_type, r.cached, r.confidence"
        ),
        params,
    )
    priced, timed = (any(g[column] for g in groups) for column in (9, 10))
    order = ' COLLATE "C"' if conn.dialect.name == "postgresql" else ""  # code points, as SQLite sorts text
    # every cost 0.0: their sum in item order is 0.0, as the sum of none is
    costs = _column(conn, f"SELECT r.cost_usd {_OF_RUN} ORDER BY r.item_id{order}", params) if priced else ()
    latencies = _column(conn, f"SELECT r.latency_ms {_OF_RUN} AND r.latency_ms IS NOT NULL", params) if timed else ()
    return RunTally(
        tuple(
            ResultGroup(expected, outcome, label, error_type, bool(cached), confidence, int(count))
            for expected, outcome, label, error_type, cached, confidence, count, *_ in groups
        ),
        RunTotals(costs, latencies, sum(int(g[7] or 0) for g in groups), sum(int(g[8] or 0) for g in groups)),
    )


def _column(conn: Connection, query: str, params: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[0] for row in driver_rows(conn, text(query), params))
