"""The log's side of `runs compare` on two big runs: Core queries that pair and count in the database.

No ORM objects and no SQLModel import: plain rows of a few columns. The database pairs the two runs' results
with the incident's items in one query; the numbers are still made by `analysis.metrics.tallied_metrics`
and `analysis.flips.compare_tallied` (services.runs feeds them counts and the pairs that differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, text

from modtui.store.records import AnsweredBy, RunRecord

SIDE = ("outcome", "label", "error_type", "cached", "tokens_in", "tokens_out", "cost_usd", "latency_ms")


def get_run(conn: Connection, run_id: int) -> RunRecord | None:
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
    rows = _driver_rows(conn, query, {"inc": incident_id, "a": a, "b": b}, binary=postgres)
    if postgres:
        rows.sort(key=itemgetter(0))
    return rows


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


def _driver_rows(conn: Connection, query: Any, params: dict[str, Any], binary: bool = False) -> list[tuple[Any, ...]]:
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
