"""Queries on incidents, items and timeline events (Core statements: store.sql)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, text

from modtui.domain.incident import Item
from modtui.incidents.loader import LoadedIncident
from modtui.store import sql
from modtui.store.db import Store
from modtui.store.records import EventRecord
from modtui.timeutil import iso, now_iso

if TYPE_CHECKING:
    from sqlmodel import Session


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
    with store.connect() as conn:
        row = sql.first(conn, "SELECT files_hash FROM incident WHERE id = :id", {"id": incident_id})
        return row["files_hash"] if row is not None else None


def sync_incident(store: Store, loaded: LoadedIncident, files_hash: str | None = None) -> None:
    """Make the log's copy of the incident and its items match the files (no-op when unchanged), and record
    `files_hash`: the fingerprint of the files `loaded` was validated from, or None when it is not known."""
    digest = source_hash(loaded)
    with store.connect() as conn:
        row = sql.first(conn, "SELECT source_hash, files_hash FROM incident WHERE id = :id", {"id": loaded.id})
    if row is not None and row["source_hash"] == digest:
        if row["files_hash"] != files_hash:
            with store.transaction() as writing:
                sql.update(writing, "incident", {"id": loaded.id}, {"files_hash": files_hash})
        return
    inc = loaded.incident
    values = {
        "title": inc.title,
        "severity": inc.severity.value,
        "status": inc.status.value,
        "policy": inc.policy,
        "positive_label": inc.positive_label,
        "labels_json": json.dumps(inc.labels),
        "production_prompt": inc.production.prompt,
        "production_model": inc.production.model,
        "opened_at": iso(inc.opened_at),
        "description": inc.description,
        "source_hash": digest,
        "loaded_at": now_iso(),
        "files_hash": files_hash,
    }
    with store.transaction() as conn:
        if not sql.update(conn, "incident", {"id": inc.id}, values):
            sql.insert_rows(conn, "incident", [{"id": inc.id, **values}])
        _replace_items(conn, loaded)


# json.dumps(meta, ensure_ascii=False, default=str) with its encoder built once, not once per item
meta_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _replace_items(conn: Connection, loaded: LoadedIncident) -> None:
    conn.execute(text("DELETE FROM item WHERE incident_id = :id"), {"id": loaded.id})
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
            "parent_id": None,  # an evasion probe's variant only (store.probes)
            "mutation": None,
            "seed": None,
        }
        for i in loaded.items
    ]
    for start in range(0, len(rows), 5000):
        sql.insert_rows(conn, "item", rows[start : start + 5000])


def event_record(row: Mapping[str, Any]) -> EventRecord:
    return EventRecord(
        id=int(row["id"]),
        incident_id=row["incident_id"],
        at=row["at"],
        author=row["author"],
        kind=row["kind"],
        summary=row["summary"],
        data=json.loads(row["data_json"] or "{}"),
    )


def add_event(
    db: Connection | Session,
    incident_id: str,
    kind: str,
    summary: str,
    author: str,
    data: dict[str, Any] | None = None,
) -> EventRecord:
    values = {
        "incident_id": incident_id,
        "at": now_iso(),
        "author": author,
        "kind": kind,
        "summary": summary,
        "data_json": json.dumps(data or {}, ensure_ascii=False, default=str),
    }
    event_id = sql.insert_returning_id(sql.connection_of(db), "event", values)
    return event_record({"id": event_id, **values})


def set_status(store: Store, incident_id: str, old: str, new: str, author: str, note: str | None) -> EventRecord:
    with store.transaction() as conn:
        sql.update(conn, "incident", {"id": incident_id}, {"status": new})
        summary = f"status {old} → {new}" + (f": {note}" if note else "")
        return add_event(conn, incident_id, "status", summary, author, {"from": old, "to": new, "note": note})


def activity(store: Store) -> dict[str, dict[str, Any]]:
    """Per incident: open findings, runs, and the time of the last event or run."""
    out: dict[str, dict[str, Any]] = {}
    with store.connect() as conn:
        findings = "SELECT incident_id, count(*) FROM finding WHERE status = 'open' GROUP BY incident_id"
        for inc, count in conn.execute(text(findings)):
            out.setdefault(inc, {})["open_findings"] = count
        runs = "SELECT incident_id, count(*), max(started_at) FROM run GROUP BY incident_id"
        for inc, count, last in conn.execute(text(runs)):
            out.setdefault(inc, {}).update(runs=count, last_run=last)
        for inc, last in conn.execute(text("SELECT incident_id, max(at) FROM event GROUP BY incident_id")):
            out.setdefault(inc, {})["last_event"] = last
    return out


def events(store: Store, incident_id: str) -> list[EventRecord]:
    """The incident's timeline, newest first."""
    with store.connect() as conn:
        query = text("SELECT * FROM event WHERE incident_id = :id ORDER BY at DESC, id DESC")
        return [event_record(dict(row._mapping)) for row in conn.execute(query, {"id": incident_id})]


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What slices and agreement read of an item, as the log holds it since the incident's last sync."""

    item_id: str
    kind: str
    content: str
    meta: dict[str, Any]
    annotations: dict[str, str] | None  # annotator → label; None when the item records none


def item_facts(db: Connection | Session, incident_id: str) -> list[ItemFacts]:
    """Every item of the incident (no order promised)."""
    query = text("SELECT item_id, kind, content, meta_json, annotations_json FROM item WHERE incident_id = :id")
    return [
        ItemFacts(item_id, kind, content, json.loads(meta or "{}"), None if notes is None else json.loads(notes))
        for item_id, kind, content, meta, notes in sql.connection_of(db).execute(query, {"id": incident_id})
    ]
