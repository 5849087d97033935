"""Queries on provider batches (`replay --batch`) and their requests; they leave as records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from modtui.domain.run import BatchStatus, RunStatus
from modtui.store.db import Store
from modtui.store.records import BatchRecord, BatchRequestRecord
from modtui.store.tables import BatchRequestRow, BatchRow, RunRow
from modtui.timeutil import now_iso

REQUEST_ROWS_PER_INSERT = 5000


def batch_record(row: BatchRow) -> BatchRecord:
    assert row.id is not None, "a batch row read from the log has its id"
    return BatchRecord(
        id=row.id,
        submission=row.submission,
        incident_id=row.incident_id,
        target_key=row.target_key,
        target_name=row.target_name,
        provider=row.provider,
        provider_batch_id=row.provider_batch_id,
        status=BatchStatus(row.status),
        author=row.author,
        submitted_at=row.submitted_at,
        provider_status=row.provider_status,
        requests=row.requests,
        run_ids=tuple(json.loads(row.run_ids_json or "[]")),
        spec=json.loads(row.spec_json or "{}"),
        ended_at=row.ended_at,
        error=row.error,
    )


def add_batch(
    session: Session,
    *,
    submission: str,
    incident_id: str,
    target_key: str,
    target_name: str,
    provider: str,
    provider_batch_id: str,
    requests: Sequence[dict[str, Any]],
    run_ids: Sequence[int],
    spec: dict[str, Any],
    author: str,
) -> BatchRecord:
    """Record a submitted batch with its requests (custom_id, run_id, item_id, cache_key, truncated) and mark its
    runs `submitted`."""
    row = BatchRow(
        submission=submission,
        incident_id=incident_id,
        target_key=target_key,
        target_name=target_name,
        provider=provider,
        provider_batch_id=provider_batch_id,
        status=BatchStatus.SUBMITTED.value,
        provider_status="submitted",
        requests=len(requests),
        run_ids_json=json.dumps(list(run_ids)),
        spec_json=json.dumps(spec),
        author=author,
        submitted_at=now_iso(),
    )
    session.add(row)
    session.flush()
    rows = [{**r, "batch_id": row.id} for r in requests]
    for start in range(0, len(rows), REQUEST_ROWS_PER_INSERT):
        session.execute(BatchRequestRow.__table__.insert(), rows[start : start + REQUEST_ROWS_PER_INSERT])  # type: ignore[attr-defined]
    for run in session.exec(select(RunRow).where(col(RunRow.id).in_(run_ids))):
        run.status = RunStatus.SUBMITTED.value
        session.add(run)
    return batch_record(row)


def of_submitted_runs(session: Session, run_id: int | None = None) -> list[BatchRecord]:
    """The batches holding requests of every submitted run (or of run `run_id` if it is submitted), by id."""
    runs = select(RunRow.id).where(RunRow.status == RunStatus.SUBMITTED.value)
    if run_id is not None:
        runs = runs.where(RunRow.id == run_id)
    ids = select(BatchRequestRow.batch_id).where(col(BatchRequestRow.run_id).in_(runs)).distinct()
    query = select(BatchRow).where(col(BatchRow.id).in_(ids)).order_by(col(BatchRow.id))
    return [batch_record(row) for row in session.exec(query)]


def of_submission(session: Session, submission: str, target_key: str) -> list[BatchRecord]:
    query = select(BatchRow).where(BatchRow.submission == submission, BatchRow.target_key == target_key)
    return [batch_record(row) for row in session.exec(query)]


def requests_of(session: Session, batch_id: int) -> list[BatchRequestRecord]:
    query = select(BatchRequestRow).where(BatchRequestRow.batch_id == batch_id)
    return [
        BatchRequestRecord(r.batch_id, r.custom_id, r.run_id, r.item_id, r.cache_key, bool(r.truncated))
        for r in session.exec(query)
    ]


def end_batch(store: Store, batch_id: int, status: BatchStatus, provider_status: str | None, error: str | None) -> None:
    """Mark a batch ended or failed, once: a batch no longer `submitted` is left as it is."""
    with store.write() as session:
        row = session.get(BatchRow, batch_id)
        if row is not None and row.status == BatchStatus.SUBMITTED.value:
            row.status, row.provider_status, row.ended_at, row.error = status.value, provider_status, now_iso(), error
            session.add(row)


def set_provider_status(store: Store, batch_id: int, status: str) -> None:
    with store.write() as session:
        row = session.get(BatchRow, batch_id)
        if row is not None and row.provider_status != status:
            row.provider_status = status
            session.add(row)
