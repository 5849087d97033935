"""Queries on evasion probes: the `probe:INC` pseudo-incident that holds an incident's parents and their variants.

The pseudo-incident keeps probe runs and their derived items apart from the incident's own items, runs and
metrics, while runs, results and the cache work on it as on any incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from modtui.analysis.robustness import Variant
from modtui.store.db import Store
from modtui.store.incidents import add_event
from modtui.store.tables import IncidentRow, ItemRow, PromptVersionRow
from modtui.timeutil import now_iso

CHUNK = 500


def sync_probe_incident(store: Store, incident_id: str, probe_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Create or refresh `probe_id` from `incident_id` (as the log holds it) and upsert its items: `rows` are
    item columns (item_id, content, expected, observed, kind, meta_json, parent_id, mutation, seed)."""
    with store.write() as session:
        parent = session.get(IncidentRow, incident_id)
        if parent is None:
            raise LookupError(incident_id)
        fields = parent.model_dump()
        fields.update(
            id=probe_id, title=f"evasion probes of {incident_id}", source_hash="", files_hash=None, loaded_at=now_iso()
        )
        session.merge(IncidentRow(**fields))
        session.flush()
        ids = [r["item_id"] for r in rows]
        for start in range(0, len(ids), CHUNK):
            session.execute(
                delete(ItemRow).where(
                    ItemRow.incident_id == probe_id,  # type: ignore[arg-type]
                    ItemRow.item_id.in_(ids[start : start + CHUNK]),  # type: ignore[attr-defined]
                )
            )
        full = [
            {"incident_id": probe_id, "observed": None, "parent_id": None, "mutation": None, "seed": None, **r}
            for r in rows
        ]
        for start in range(0, len(full), 5000):
            session.execute(ItemRow.__table__.insert(), full[start : start + 5000])  # type: ignore[attr-defined]


def variants(session: Session, probe_id: str) -> list[Variant]:
    """Every variant the log holds for the probe pseudo-incident."""
    query = sa_select(
        col(ItemRow.item_id), col(ItemRow.parent_id), col(ItemRow.mutation), col(ItemRow.seed), col(ItemRow.content)
    ).where(col(ItemRow.incident_id) == probe_id, col(ItemRow.parent_id).is_not(None))
    return [
        Variant(i, p or "", m or "", s or 0, c) for i, p, m, s, c in session.connection().execute(query)
    ]  # set on variants


def parent_contents(session: Session, probe_id: str) -> dict[str, str]:
    """The probe's parent items (not variants): id → content."""
    query = sa_select(col(ItemRow.item_id), col(ItemRow.content)).where(
        col(ItemRow.incident_id) == probe_id, col(ItemRow.parent_id).is_(None)
    )
    return {item_id: content for item_id, content in session.connection().execute(query)}


def prompt_source(session: Session, version: str) -> str | None:
    row = session.get(PromptVersionRow, version)
    return row.source if row else None


def record_probe(store: Store, incident_id: str, summary: str, author: str, data: dict[str, Any]) -> None:
    """The probe on the incident's own timeline (its runs are on the pseudo-incident's)."""
    with store.write() as session:
        add_event(session, incident_id, "probe", summary, author, data)
