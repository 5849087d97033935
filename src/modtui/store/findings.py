"""Queries on findings. Findings are never deleted: only added, resolved, rejected or superseded.

They leave the store as domain.finding.Finding (frozen), never as rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from modtui.domain.finding import Finding, FindingStatus
from modtui.store.sql import can_be_id
from modtui.store.tables import FindingRow
from modtui.timeutil import now_iso


def to_finding(row: FindingRow) -> Finding:
    return Finding(
        id=row.id or 0,
        incident_id=row.incident_id,
        category=row.category,
        summary=row.summary,
        status=FindingStatus(row.status),
        author=row.author,
        created_at=row.created_at,
        fix=row.fix,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        superseded_by=row.superseded_by,
        items=tuple(json.loads(row.items_json or "[]")),
        runs=tuple(json.loads(row.runs_json or "[]")),
        corrections=dict(json.loads(row.corrected_labels_json or "{}")),
    )


def insert(
    session: Session,
    *,
    incident_id: str,
    category: str,
    summary: str,
    fix: str | None,
    author: str,
    items: Sequence[str],
    runs: Sequence[int],
    corrections: Mapping[str, str],
) -> Finding:
    row = FindingRow(
        incident_id=incident_id,
        category=category,
        summary=summary,
        fix=fix,
        status=FindingStatus.OPEN.value,
        author=author,
        created_at=now_iso(),
        items_json=json.dumps(list(items), ensure_ascii=False),
        runs_json=json.dumps(list(runs)),
        corrected_labels_json=json.dumps(dict(corrections), ensure_ascii=False, sort_keys=True),
    )
    session.add(row)
    session.flush()
    return to_finding(row)


def get(session: Session, finding_id: int) -> Finding | None:
    if not can_be_id(finding_id):
        return None
    row = session.get(FindingRow, finding_id)
    return to_finding(row) if row is not None else None


def of_incident(session: Session, incident_id: str | None = None, open_only: bool = False) -> list[Finding]:
    """Findings newest first (of one incident, open ones only, when asked)."""
    query = select(FindingRow).order_by(col(FindingRow.id).desc())
    if incident_id:
        query = query.where(FindingRow.incident_id == incident_id)
    if open_only:
        query = query.where(FindingRow.status == FindingStatus.OPEN.value)
    return [to_finding(row) for row in session.exec(query)]


def close(session: Session, finding_id: int, status: FindingStatus, resolution: str) -> Finding:
    """Resolve or reject a finding (the caller checked it is open)."""
    row = session.get_one(FindingRow, finding_id)
    row.status, row.resolved_at, row.resolution = status.value, now_iso(), resolution
    session.add(row)
    return to_finding(row)


def supersede(session: Session, finding_id: int, by: int) -> Finding:
    row = session.get_one(FindingRow, finding_id)
    row.status, row.superseded_by = FindingStatus.SUPERSEDED.value, by
    session.add(row)
    return to_finding(row)
