"""Which gold labels metrics are computed on: the incident's own, or with label disputes applied.

`corrected` applies the corrections of `label_error` findings that are open (proposed) or resolved
(accepted); rejected and superseded findings do not count; when two findings correct one item the
later finding wins. The incident's files are never changed: the original label stays in items.jsonl
and each correction stays in its finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from modtui.domain.finding import LabelCorrection, apply_corrections, corrected_labels
from modtui.errors import Problem, UsageError
from modtui.store import findings as q
from modtui.workspace import Workspace

if TYPE_CHECKING:
    from modtui.services.replay import ReplayPlan

LABEL_SETS = ("original", "corrected")


def check(labels: str) -> None:
    if labels not in LABEL_SETS:
        raise UsageError(Problem("--labels", f"'{labels}' is not one of {', '.join(LABEL_SETS)}"))


def label_corrections(ws: Workspace, incident_id: str, expected: Mapping[str, str]) -> dict[str, LabelCorrection]:
    """The gold-label corrections in force on the incident."""
    with ws.store().read() as session:
        findings = q.of_incident(session, incident_id)
    return apply_corrections(dict(expected), findings)


def gold_labels(
    ws: Workspace, incident_id: str, expected: Mapping[str, str], labels: str
) -> tuple[dict[str, str], dict[str, LabelCorrection]]:
    """`expected` as is (labels="original") or with the corrections applied ("corrected"), and those corrections."""
    check(labels)
    if labels == "original":
        return dict(expected), {}
    corrections = label_corrections(ws, incident_id, expected)
    return corrected_labels(dict(expected), corrections), corrections


def relabelled(ws: Workspace, plan: "ReplayPlan", labels: str) -> tuple["ReplayPlan", dict[str, LabelCorrection]]:
    """The plan with its items' expected labels as chosen (for scoring only; the runs are the same)."""
    gold, corrections = gold_labels(ws, plan.loaded.id, {i.id: i.expected for i in plan.items}, labels)
    if not corrections:
        return plan, {}
    items = [i.model_copy(update={"expected": gold[i.id]}) if i.id in corrections else i for i in plan.items]
    return replace(plan, items=items), corrections


def corrections_dict(corrections: Mapping[str, LabelCorrection]) -> dict[str, dict[str, Any]]:
    """JSON: item id → {original, corrected, finding}."""
    return {
        c.item_id: {"original": c.original, "corrected": c.corrected, "finding": c.finding_id}
        for c in sorted(corrections.values(), key=lambda c: c.item_id)
    }
