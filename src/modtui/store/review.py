"""Queries for the review queue: an incident's latest run of each target × prompt."""

from __future__ import annotations

from sqlmodel import Session, col, select

from modtui.domain.run import RunStatus
from modtui.store.records import RunRecord
from modtui.store.tables import RunRow

FINISHED = (RunStatus.COMPLETED.value, RunStatus.INTERRUPTED.value)


def latest_runs(session: Session, incident_id: str) -> list[RunRecord]:
    """The newest finished run of each target × prompt on the incident (newest first)."""
    query = (
        select(RunRow)
        .where(RunRow.incident_id == incident_id, col(RunRow.status).in_(FINISHED))
        .order_by(col(RunRow.id).desc())
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for run in session.exec(query):
        if (run.target_key, run.prompt_version) not in seen:
            seen.add((run.target_key, run.prompt_version))
            out.append(RunRecord.from_columns(run.model_dump()))
    return out
