"""Runs after the fact: list, show one with its metrics, compare two."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, run_metrics
from modtui.errors import Problem, UsageError
from modtui.services.labels import corrections_dict, gold_labels
from modtui.services.scoring import scored
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
    with ws.store().read() as session:
        run = q.get_run(session, run_id)
        if run is None:
            raise UsageError(Problem("run", f"no run {run_id}"))
        expected = q.expected_labels(session, run.incident_id)
        positive = q.positive_label(session, run.incident_id)
        results = q.results_of(session, run_id)
    gold, corrections = gold_labels(ws, run.incident_id, expected, labels)
    return RunView(run, run_metrics(scored(results, gold), positive), positive, labels, corrections_dict(corrections))


def compare_runs(ws: Workspace, a: int, b: int, labels: str = "original") -> tuple[RunView, RunView, FlipReport]:
    left, right = view(ws, a, labels), view(ws, b, labels)
    if left.run.incident_id != right.run.incident_id:
        raise UsageError(Problem("runs compare", f"run {a} is on {left.run.incident_id} but run {b} is on "
                                                 f"{right.run.incident_id}; compare runs of one incident"))
    with ws.store().read() as session:
        expected = q.expected_labels(session, left.run.incident_id)
        base_results, cand_results = q.results_of(session, a), q.results_of(session, b)
    expected, _ = gold_labels(ws, left.run.incident_id, expected, labels)
    base, cand = scored(base_results, expected), scored(cand_results, expected)
    return left, right, compare(base, cand, left.positive)
