"""Runs after the fact: list, show one with its metrics, compare two."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, ScoredItem, run_metrics
from modtui.errors import Problem, UsageError
from modtui.services.labels import corrections_dict, gold_labels
from modtui.services.scoring import scored_rows
from modtui.store import runs as q
from modtui.store.tables import RunRow
from modtui.services import golden
from modtui.workspace import Workspace


@dataclass
class RunView:
    run: RunRow
    metrics: RunMetrics
    positive: str
    labels: str = "original"
    corrections: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        r = self.run
        return {"run_id": r.id, "incident": r.incident_id, "target": r.target_name, "prompt": r.prompt_path,
                "prompt_version": r.prompt_version, "items": r.item_set, "status": r.status, "author": r.author,
                "started_at": r.started_at, "finished_at": r.finished_at, "error": r.error,
                "metrics": self.metrics.to_dict(), "labels": self.labels, "corrections": self.corrections}


def list_runs(ws: Workspace, incident_id: str | None) -> list[dict[str, Any]]:
    if incident_id and incident_id.startswith("golden:"):
        golden.load(ws, incident_id.removeprefix("golden:"))  # a golden set's runs (it must exist)
    elif incident_id:
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


def view(ws: Workspace, run_id: int, labels: str = "original") -> RunView:
    """One run with its metrics on the original or the corrected gold labels (see services.labels)."""
    return _views(ws, [run_id], labels)[0][0]


def _views(ws: Workspace, run_ids: list[int], labels: str) -> list[tuple[RunView, list[ScoredItem]]]:
    """Each run with its metrics and scored items; the incident's gold labels read once (not once per run)."""
    with ws.store().read() as session:
        runs = []
        for run_id in run_ids:
            run = q.get_run(session, run_id)
            if run is None:
                raise UsageError(Problem("run", f"no run {run_id}"))
            runs.append(run)
        if len({r.incident_id for r in runs}) > 1:
            a, b = runs[0], runs[1]
            raise UsageError(Problem("runs compare", f"run {a.id} is on {a.incident_id} but run {b.id} is on "
                                                     f"{b.incident_id}; compare runs of one incident"))
        incident_id = runs[0].incident_id
        expected = q.expected_labels(session, incident_id)
        positive = q.positive_label(session, incident_id)
        rows = [q.scoring_rows(session, run_id) for run_id in run_ids]
    gold, corrections = gold_labels(ws, incident_id, expected, labels)
    out = []
    for run, results in zip(runs, rows):
        items = scored_rows(results, gold)
        out.append((RunView(run, run_metrics(items, positive), positive, labels, corrections_dict(corrections)), items))
    return out


def compare_runs(ws: Workspace, a: int, b: int, labels: str = "original") -> tuple[RunView, RunView, FlipReport]:
    (left, base), (right, cand) = _views(ws, [a, b], labels)
    return left, right, compare(base, cand, left.positive)
