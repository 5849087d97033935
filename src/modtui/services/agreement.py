"""`modtui agreement INC`: how far the incident's human annotators agree (analysis.agreement over the log)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modtui.analysis.agreement import Agreement, agreement

if TYPE_CHECKING:
    from modtui.workspace import Workspace


def annotator_labels(ws: Workspace, incident_id: str) -> dict[str, dict[str, str]]:
    """item id → {annotator: label} for the items that record annotations, from the incident as it is now."""
    from modtui.services.incidents import load_and_sync
    from modtui.store.incidents import item_facts

    load_and_sync(ws, incident_id)
    with ws.store().read() as session:
        return {f.item_id: f.annotations for f in item_facts(session, incident_id) if f.annotations}


def incident_agreement(ws: Workspace, incident_id: str) -> Agreement:
    return agreement(annotator_labels(ws, incident_id))


def as_dict(incident_id: str, result: Agreement) -> dict[str, Any]:
    return {"incident": incident_id, **result.to_dict()}
