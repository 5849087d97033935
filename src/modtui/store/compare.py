"""The log's side of `runs compare` on two big runs: Core queries that pair and count in the database.

No ORM objects and no SQLModel import: plain rows of a few columns. `tally` pairs the two runs' results with the
incident's items and counts them by gold label and both answers in the database (GROUP BY), naming only the items
whose answers differ; `paired` reads every pair (for gold labels the log does not hold: `--labels corrected`) and
`group_paired` counts those rows the same way in Python. The numbers are still made by
`analysis.metrics.tallied_metrics` and `analysis.flips.compare_grouped` (services.runs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, text

from modtui.store.sql import can_be_id
from modtui.store.records import Answer, AnsweredBy, PairGroup, PairTally, RunRecord, RunTotals

SIDE = ("outcome", "label", "error_type", "cached", "tokens_in", "tokens_out", "cost_usd", "latency_ms")
ANSWER = SIDE[:4]  # the group key of each side (with the item's gold label)
_JOINS = (
    "FROM item i LEFT JOIN result a ON a.run_id = :a AND a.item_id = i.item_id "
    "LEFT JOIN result b ON b.run_id = :b AND b.item_id = i.item_id WHERE i.incident_id = :inc"
)


def get_run(conn: Connection, run_id: int) -> RunRecord | None:
    if not can_be_id(run_id):
        return None
    row = conn.execute(text("SELECT * FROM run WHERE id = :id"), {"id": run_id}).first()
    return RunRecord.from_columns(dict(row._mapping)) if row is not None else None


def positive_label(conn: Connection, incident_id: str) -> str:
    row = conn.execute(text("SELECT positive_label FROM incident WHERE id = :id"), {"id": incident_id}).first()
    return row[0] if row else ""


def paired(conn: Connection, incident_id: str, a: int, b: int) -> Sequence[Any]:
    """Every item of the incident, in item order (code points, as services.scoring): (item_id, expected, then
    run a's SIDE columns, then run b's; each side all NULL when that run has no result for the item). One
    scan of each run's results by its primary key, no reply texts."""
    cols = ", ".join(f"{side}.{c}" for side in ("a", "b") for c in SIDE)
    postgres = conn.dialect.name == "postgresql"
    query = text(
        f"SELECT i.item_id, i.expected, {cols} FROM item i "
        "LEFT JOIN result a ON a.run_id = :a AND a.item_id = i.item_id "
        "LEFT JOIN result b ON b.run_id = :b AND b.item_id = i.item_id "
        # SQLite reads the items in key order for free; PostgreSQL would sort them by code point (COLLATE "C")
        # on the server, spilling to disk at the default work_mem: Python's sort is that order, in ~20 ms
        "WHERE i.incident_id = :inc" + ("" if postgres else " ORDER BY i.item_id")
    )
    rows = driver_rows(conn, query, {"inc": incident_id, "a": a, "b": b}, binary=postgres)
    if postgres:
        rows.sort(key=itemgetter(0))
    return rows


def tally(conn: Connection, incident_id: str, a: int, b: int) -> PairTally:
    """Runs a and b over the incident's items, counted in the log by gold label and both sides' answers: one
    GROUP BY over the paired rows (tens of groups), the ids only of the items whose answers differ, each run's
    costs in item order, latencies and token sums. Equal to `group_paired` of `paired`'s rows (tests)."""
    params = {"inc": incident_id, "a": a, "b": b}
    keys = ", ".join(f"{side}.{c}" for side in ("a", "b") for c in ANSWER)
    if conn.dialect.name == "postgresql":
        return _tally_postgres(conn, keys, params)
    sums = ", ".join(f"sum({side}.{c})" for side in ("a", "b") for c in ("tokens_in", "tokens_out"))
    differ = " AND ".join(f"a.{c} IS b.{c}" for c in ANSWER[:3])
    query = text(
        f"SELECT i.expected, {keys}, count(*), json_group_array(i.item_id) FILTER (WHERE NOT ({differ})), {sums} "
        f"{_JOINS} GROUP BY i.expected, {keys}"
    )
    groups, tokens = [], [0, 0, 0, 0]
    for row in driver_rows(conn, query, params):
        group = _group(row[0], row[1:5], row[5:9], row[9], json.loads(row[10]))
        if group is not None:
            groups.append(group)
            tokens = [t + (n or 0) for t, n in zip(tokens, row[11:15])]
    # SQLite reads the pairs in key order for free: the costs come in item order as they are
    floats = text(f"SELECT a.cost_usd, a.latency_ms, b.cost_usd, b.latency_ms {_JOINS} ORDER BY i.item_id")
    cols = list(zip(*driver_rows(conn, floats, params))) or [()] * 4
    sides = []
    for cost, latency, (tokens_in, tokens_out) in ((cols[0], cols[1], tokens[:2]), (cols[2], cols[3], tokens[2:])):
        has = [c is not None for c in cost]  # cost is NOT NULL: None = no result for the item
        sides.append(RunTotals(_kept(cost, has), _kept(latency, has), tokens_in, tokens_out))
    return PairTally(tuple(groups), sides[0], sides[1])


def _tally_postgres(conn: Connection, keys: str, params: dict[str, Any]) -> PairTally:
    """One query: the groups with, per group, every item id (to put the costs in item order here: the server's
    COLLATE "C" sort spilled to disk at the default work_mem), each side's costs and latencies as arrays (psycopg's
    binary format reads them in C) and token sums."""
    per_side = ", ".join(
        f"array_agg({side}.cost_usd), array_agg({side}.latency_ms), sum({side}.tokens_in), sum({side}.tokens_out)"
        for side in ("a", "b")
    )
    query = text(
        f"SELECT i.expected, {keys}, count(*), array_agg(i.item_id), {per_side} {_JOINS} GROUP BY i.expected, {keys}"
    )
    # the planner guesses one group per row (the key's columns look independent) and sorts the 50,000 rows for a
    # group aggregate, spilling to disk; there are tens of groups: hash them. And it joins each item to its result
    # by index lookups, one at a time, when the tables' statistics are not yet taken (a log just written: autovacuum
    # analyzes it a minute later), 2x slower for two 50,000-item runs: both runs are read whole, hash-join them
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    rows = driver_rows(conn, query, params, binary=True)
    conn.exec_driver_sql("RESET enable_nestloop")
    conn.exec_driver_sql("RESET enable_sort")
    groups = []
    sides: list[list[Any]] = [[[], [], [], 0, 0], [[], [], [], 0, 0]]  # ids, costs, latencies, tokens in/out
    for row in rows:
        ids = row[10]
        group = _group(row[0], row[1:5], row[5:9], row[9], ids)
        if group is None:
            continue
        groups.append(group)
        for side, (answer, at) in zip(sides, ((row[1:5], 11), (row[5:9], 15))):
            if answer[0] is not None:
                side[0] += ids
                side[1] += row[at]
                side[2] += row[at + 1]
                side[3] += row[at + 2] or 0
                side[4] += row[at + 3] or 0
    totals = []
    for ids, costs, latencies, tokens_in, tokens_out in sides:
        order = sorted(range(len(ids)), key=ids.__getitem__)
        totals.append(RunTotals(tuple(map(costs.__getitem__, order)), tuple(latencies), tokens_in, tokens_out))
    return PairTally(tuple(groups), totals[0], totals[1])


def group_paired(rows: Sequence[Sequence[Any]], expected: Sequence[str] | None = None) -> PairTally:
    """`tally` of `paired`'s rows (item order), counted here; `expected` replaces the items' gold labels."""
    width = len(SIDE)
    counts: dict[tuple[Any, ...], list[Any]] = {}
    sides: list[list[list[Any]]] = [[[], [], [], []], [[], [], [], []]]  # costs, latencies, tokens in, out
    for n, row in enumerate(rows):
        gold = row[1] if expected is None else expected[n]
        a, b = row[2 : 2 + width], row[2 + width : 2 + 2 * width]
        key = (gold, *a[:4], *b[:4])
        entry = counts.setdefault(key, [0, []])
        entry[0] += 1
        if a[:3] != b[:3]:
            entry[1].append(row[0])
        for side, values in zip(sides, (a, b)):
            if values[0] is not None:
                for column, value in zip(side, (values[6], values[7], values[4], values[5])):
                    column.append(value)
    groups = []
    for key, (count, ids) in counts.items():
        group = _group(key[0], key[1:5], key[5:9], count, ids)
        if group is not None:
            groups.append(group)
    totals = [RunTotals(tuple(c), tuple(lat), sum(ti), sum(to)) for c, lat, ti, to in sides]
    return PairTally(tuple(groups), totals[0], totals[1])


def _group(
    expected: str, a: Sequence[Any], b: Sequence[Any], count: int, ids: Sequence[str] | None
) -> PairGroup | None:
    """A PairGroup from the columns of a group (None when neither run has a result for its items)."""
    if a[0] is None and b[0] is None:
        return None
    differ = tuple(a[:3]) != tuple(b[:3])
    return PairGroup(expected, _answer(a), _answer(b), int(count), tuple(ids or ()) if differ else ())


def _answer(side: Sequence[Any]) -> Answer | None:
    outcome, label, error_type, cached = side
    return None if outcome is None else Answer(outcome, label, error_type, bool(cached))


def _kept(column: Sequence[Any], has: Sequence[bool]) -> tuple[Any, ...]:
    return tuple(v for v, h in zip(column, has) if h)


def answered_by(conn: Connection, run_ids: Sequence[int]) -> dict[int, AnsweredBy]:
    """run id → the distinct answering model ids and system fingerprints of its results (empty when none said)."""
    out: dict[int, tuple[set[str], set[str]]] = {run_id: (set(), set()) for run_id in run_ids}
    if run_ids:
        marks = ", ".join(f":r{n}" for n in range(len(run_ids)))
        query = text(
            f"SELECT DISTINCT run_id, answered_model, system_fingerprint FROM result WHERE run_id IN ({marks})"
        )
        for run_id, model, fingerprint in conn.execute(query, {f"r{n}": r for n, r in enumerate(run_ids)}):
            models, fingerprints = out[run_id]
            if model:
                models.add(model)
            if fingerprint:
                fingerprints.add(fingerprint)
    return {run_id: AnsweredBy(tuple(sorted(m)), tuple(sorted(f))) for run_id, (m, f) in out.items()}


def driver_rows(conn: Connection, query: Any, params: dict[str, Any], binary: bool = False) -> list[tuple[Any, ...]]:
    """The driver's own tuples (sqlite3, psycopg), without SQLAlchemy's Row per row: ~15 % of a 50,000-row read.
    `binary`: psycopg's binary format (the same Python values, about half the client's CPU to read them)."""
    compiled = query.compile(dialect=conn.dialect)
    bound = compiled.construct_params(params)
    args = tuple(bound[name] for name in compiled.positiontup) if compiled.positional else bound
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor(binary=True) if binary else dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()
