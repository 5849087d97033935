"""Queries on incidents, items and timeline events."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete, func, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from modtui.domain.incident import Item
from modtui.incidents.loader import LoadedIncident
from modtui.store.bulk import insert_many
from modtui.store.db import Store
from modtui.store.records import EventRecord
from modtui.store.tables import EventRow, FindingRow, IncidentRow, ItemRow, RunRow
from modtui.timeutil import iso, now_iso


def source_hash(loaded: LoadedIncident) -> str:
    """A digest of the incident and every field of every item (all of them as one JSON array, dumped in one call)."""
    digest = hashlib.sha256(loaded.incident.model_dump_json().encode())
    digest.update(_items_json().dump_json(loaded.items))
    return digest.hexdigest()[:16]


@functools.cache
def _items_json() -> TypeAdapter[list[Item]]:
    return TypeAdapter(list[Item])


def files_hash(store: Store, incident_id: str) -> str | None:
    """The fingerprint of the incident's files recorded at its last sync (None: none recorded)."""
    with store.read() as session:
        row = session.get(IncidentRow, incident_id)
        return row.files_hash if row is not None else None


def sync_incident(store: Store, loaded: LoadedIncident, files_hash: str | None = None) -> None:
    """Make the log's copy of the incident and its items match the files (no-op when unchanged), and record
    `files_hash`: the fingerprint of the files `loaded` was validated from, or None when it is not known."""
    digest = source_hash(loaded)
    with store.read() as session:
        row = session.get(IncidentRow, loaded.id)
        if row is not None and row.source_hash == digest:
            if row.files_hash != files_hash:
                with store.write() as writing:
                    writing.execute(
                        update(IncidentRow).where(col(IncidentRow.id) == loaded.id).values(files_hash=files_hash)
                    )
            return
    inc = loaded.incident
    with store.write() as session:
        session.merge(
            IncidentRow(
                id=inc.id,
                title=inc.title,
                severity=inc.severity.value,
                status=inc.status.value,
                policy=inc.policy,
                positive_label=inc.positive_label,
                labels_json=json.dumps(inc.labels),
                production_prompt=inc.production.prompt,
                production_model=inc.production.model,
                opened_at=iso(inc.opened_at),
                description=inc.description,
                source_hash=digest,
                loaded_at=now_iso(),
                files_hash=files_hash,
            )
        )
        session.flush()
        _replace_items(session, loaded)


# json.dumps(meta, ensure_ascii=False, default=str) with its encoder built once, not once per item
meta_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _replace_items(session: Session, loaded: LoadedIncident) -> None:
    session.execute(delete(ItemRow).where(col(ItemRow.incident_id) == loaded.id))
    rows = [
        {
            "incident_id": loaded.id,
            "item_id": i.id,
            "content": i.content,
            "expected": i.expected,
            "observed": i.observed,
            "kind": i.kind.value if i.kind else "eval",
            "meta_json": meta_json(i.meta) if i.meta else "{}",
            "annotations_json": None
            if i.annotations is None
            else json.dumps(i.annotation_labels(), ensure_ascii=False),
        }
        for i in loaded.items
    ]
    for start in range(0, len(rows), 5000):
        insert_many(session, ItemRow.__table__, rows[start : start + 5000])  # type: ignore[attr-defined]


def event_record(row: EventRow) -> EventRecord:
    assert row.id is not None, "an event row read from the log has its id"
    return EventRecord(
        id=row.id,
        incident_id=row.incident_id,
        at=row.at,
        author=row.author,
        kind=row.kind,
        summary=row.summary,
        data=json.loads(row.data_json or "{}"),
    )


def add_event(
    session: Session, incident_id: str, kind: str, summary: str, author: str, data: dict[str, Any] | None = None
) -> EventRecord:
    row = EventRow(
        incident_id=incident_id,
        at=now_iso(),
        author=author,
        kind=kind,
        summary=summary,
        data_json=json.dumps(data or {}, ensure_ascii=False, default=str),
    )
    session.add(row)
    session.flush()
    return event_record(row)


def set_status(store: Store, incident_id: str, old: str, new: str, author: str, note: str | None) -> EventRecord:
    with store.write() as session:
        row = session.get(IncidentRow, incident_id)
        if row is not None:
            row.status = new
            session.add(row)
        summary = f"status {old} → {new}" + (f": {note}" if note else "")
        return add_event(session, incident_id, "status", summary, author, {"from": old, "to": new, "note": note})


def activity(store: Store) -> dict[str, dict[str, Any]]:
    """Per incident: open findings, runs, and the time of the last event or run."""
    out: dict[str, dict[str, Any]] = {}
    with store.read() as session:
        for inc, count in session.exec(
            select(FindingRow.incident_id, func.count())
            .where(FindingRow.status == "open")
            .group_by(FindingRow.incident_id)
        ):
            out.setdefault(inc, {})["open_findings"] = count
        for inc, count, last in session.exec(
            select(RunRow.incident_id, func.count(), func.max(RunRow.started_at)).group_by(RunRow.incident_id)
        ):
            out.setdefault(inc, {}).update(runs=count, last_run=last)
        for inc, last in session.exec(
            select(EventRow.incident_id, func.max(EventRow.at)).group_by(EventRow.incident_id)
        ):
            out.setdefault(inc, {})["last_event"] = last
    return out


def events(store: Store, incident_id: str) -> list[EventRecord]:
    """The incident's timeline, newest first."""
    with store.read() as session:
        query = (
            select(EventRow)
            .where(EventRow.incident_id == incident_id)
            .order_by(col(EventRow.at).desc(), col(EventRow.id).desc())
        )
        return [event_record(row) for row in session.exec(query)]


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What slices and agreement read of an item, as the log holds it since the incident's last sync."""

    item_id: str
    kind: str
    content: str
    meta: dict[str, Any]
    annotations: dict[str, str] | None  # annotator → label; None when the item records none


def item_facts(session: Session, incident_id: str) -> list[ItemFacts]:
    """Every item of the incident (no order promised)."""
    query = select_columns(
        ItemRow.item_id,
        ItemRow.kind,
        ItemRow.content,
        ItemRow.meta_json,  # type: ignore[call-overload]
        ItemRow.annotations_json,
    ).where(ItemRow.incident_id == incident_id)
    return [
        ItemFacts(item_id, kind, content, json.loads(meta or "{}"), None if notes is None else json.loads(notes))
        for item_id, kind, content, meta, notes in session.connection().execute(query)
    ]
