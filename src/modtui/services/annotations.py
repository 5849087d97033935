"""Labels coming back from human review: `incident import FILE --update` adds them to items.jsonl as annotations."""

from __future__ import annotations

import os
from pathlib import Path

from modtui.incidents.annotate import LabelColumns, UpdateResult, update_labels
from modtui.incidents.importer import ItemsWriter
from modtui.services.incidents import load_and_sync
from modtui.store.incidents import add_event
from modtui.workspace import Workspace

ITEMS_FILE = "items.jsonl"


def update(
    ws: Workspace, incident_id: str, source: Path, shown: str, columns: LabelColumns, author: str
) -> UpdateResult:
    """Add the file's labels as annotations; items.jsonl is replaced in one step (all or nothing), then the log
    is brought up to date and the change is on the incident's timeline."""
    loaded = ws.load_incident(incident_id)
    result = update_labels(source, shown, loaded.items, columns, loaded.incident.labels)
    path = loaded.folder / ITEMS_FILE
    staged = path.with_name(f".{ITEMS_FILE}.updating")
    try:
        with ItemsWriter(staged) as out:
            for item in result.items:
                out.write(item)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    load_and_sync(ws, incident_id)
    with ws.store().write() as session:
        add_event(
            session,
            loaded.id,
            "annotations",
            f"annotations from {shown}: {result.added} added, {result.replaced} changed",
            author,
            {
                "source": shown,
                "added": result.added,
                "replaced": result.replaced,
                "annotators": sorted(set(columns.annotators.values())),
            },
        )
    return result
