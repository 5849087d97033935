"""Runs after the fact: list, show one with its metrics, compare two."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, run_metrics
from modtui.errors import Problem, UsageError
from modtui.services.scoring import scored
from modtui.store import runs as q
from modtui.store.tables import RunRow
from modtui.workspace import Workspace


@dataclass
class RunView:
    run: RunRow
    metrics: RunMetrics
    positive: str

    def as_dict(self) -> dict[str, Any]:
        r = self.run
        return {"run_id": r.id, "incident": r.incident_id, "target": r.target_name, "prompt": r.prompt_path,
                "prompt_version": r.prompt_version, "items": r.item_set, "status": r.status, "author": r.author,
                "started_at": r.started_at, "finished_at": r.finished_at, "error": r.error,
                "metrics": self.metrics.to_dict()}


def list_runs(ws: Workspace, incident_id: str | None) -> list[dict[str, Any]]:
    if incident_id:
        ws.incident_folder(incident_id)
    with ws.store().read() as session:
        rows = q.runs_for(session, incident_id)
    out = []
    for r in rows:
        s = json.loads(r.summary_json or "{}")
        out.append({"run": r.id, "incident": r.incident_id, "target": r.target_name, "prompt": r.prompt_path,
                    "version": r.prompt_version, "status": r.status, "items": s.get("items", r.items_total),
                    "precision": s.get("precision"), "recall": s.get("recall"), "f1": s.get("f1"),
                    "fixed": s.get("fixed"), "regressed": s.get("regressed"), "author": r.author,
                    "started_at": r.started_at})
    return out


def view(ws: Workspace, run_id: int) -> RunView:
    with ws.store().read() as session:
        run = q.get_run(session, run_id)
        if run is None:
            raise UsageError(Problem("run", f"no run {run_id}"))
        expected = q.expected_labels(session, run.incident_id)
        positive = q.positive_label(session, run.incident_id)
        items = scored(q.results_of(session, run_id), expected)
    return RunView(run, run_metrics(items, positive), positive)


def compare_runs(ws: Workspace, a: int, b: int) -> tuple[RunView, RunView, FlipReport]:
    left, right = view(ws, a), view(ws, b)
    if left.run.incident_id != right.run.incident_id:
        raise UsageError(Problem("runs compare", f"run {a} is on {left.run.incident_id} but run {b} is on "
                                                 f"{right.run.incident_id}; compare runs of one incident"))
    with ws.store().read() as session:
        expected = q.expected_labels(session, left.run.incident_id)
        base = scored(q.results_of(session, a), expected)
        cand = scored(q.results_of(session, b), expected)
    return left, right, compare(base, cand, left.positive)
