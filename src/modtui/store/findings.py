"""Queries on findings. Findings are never deleted: only added, resolved, rejected or superseded."""
from __future__ import annotations

import json

from sqlmodel import Session, select

from modtui.domain.finding import Finding, FindingStatus
from modtui.store.tables import FindingRow


def to_finding(row: FindingRow) -> Finding:
    return Finding(id=row.id or 0, incident_id=row.incident_id, category=row.category, summary=row.summary,
                   status=FindingStatus(row.status), author=row.author, created_at=row.created_at, fix=row.fix,
                   resolved_at=row.resolved_at, resolution=row.resolution, superseded_by=row.superseded_by,
                   items=tuple(json.loads(row.items_json or "[]")), runs=tuple(json.loads(row.runs_json or "[]")),
                   corrections=dict(json.loads(row.corrected_labels_json or "{}")))


def insert(session: Session, row: FindingRow) -> FindingRow:
    session.add(row)
    session.flush()
    return row


def get(session: Session, finding_id: int) -> FindingRow | None:
    return session.get(FindingRow, finding_id)


def of_incident(session: Session, incident_id: str | None = None, open_only: bool = False) -> list[FindingRow]:
    query = select(FindingRow).order_by(FindingRow.id.desc())  # type: ignore[union-attr]
    if incident_id:
        query = query.where(FindingRow.incident_id == incident_id)
    if open_only:
        query = query.where(FindingRow.status == FindingStatus.OPEN.value)
    return list(session.exec(query))


def items_json(items: list[str]) -> str:
    return json.dumps(items, ensure_ascii=False)


def corrections_json(corrections: dict[str, str]) -> str:
    return json.dumps(corrections, ensure_ascii=False, sort_keys=True)
