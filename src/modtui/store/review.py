"""Queries for the review queue: an incident's latest run of each target × prompt."""
from __future__ import annotations

from sqlmodel import Session, select

from modtui.store.tables import RunRow

FINISHED = ("completed", "interrupted")


def latest_runs(session: Session, incident_id: str) -> list[RunRow]:
    """The newest finished run of each target × prompt on the incident (newest first)."""
    query = (select(RunRow).where(RunRow.incident_id == incident_id, RunRow.status.in_(FINISHED))  # type: ignore[attr-defined]
             .order_by(RunRow.id.desc()))  # type: ignore[union-attr]
    seen: set[tuple[str, str]] = set()
    out = []
    for run in session.exec(query):
        if (run.target_key, run.prompt_version) not in seen:
            seen.add((run.target_key, run.prompt_version))
            out.append(run)
    return out
