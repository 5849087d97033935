"""The review queue of an incident (analysis.queue) from what the log knows: the latest run of each target ×
prompt, repeat runs, probes, annotations and label_error findings; near-duplicates from analysis.cluster."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modtui.analysis.metrics import given_label
from modtui.analysis.queue import (
    DEFAULT_BAND,
    DEFAULT_THRESHOLD,
    QueueEntry,
    Reason,
    Verdict,
    annotators_disagree,
    disagreement,
    low_margin,
    rank,
    reason,
)
from modtui.domain.incident import Item
from modtui.files.csv_cells import inert_cell
from modtui.domain.masking import masked_text
from modtui.domain.prompt_name import prompt_name
from modtui.errors import InputError, Problem
from modtui.services.incidents import load_and_sync
from modtui.workspace import Workspace

EXPORT_COLUMNS = ("id", "content", "reasons", "expected", "observed", "current_labels", "label")


@dataclass
class QueueItem:
    entry: QueueEntry
    item: Item
    labels: dict[str, str | None]  # source (target × prompt) → its latest label
    masked: str | None = None  # why the content is masked for reviewer wellbeing

    @property
    def content(self) -> str:
        return masked_text(self.masked) if self.masked else self.item.content

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "kind": self.item.kind.value if self.item.kind else None,
            "expected": self.item.expected,
            "observed": self.item.observed,
            "labels": self.labels,
            "content": self.content,
            "masked": self.masked,
        }


@dataclass
class ReviewQueue:
    incident_id: str
    threshold: float
    band: float
    runs: list[str] = field(default_factory=list)
    items: list[QueueItem] = field(default_factory=list)
    candidates: int = 0  # items with a reason before near-duplicates were collapsed

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "threshold": self.threshold,
            "band": self.band,
            "runs": self.runs,
            "candidates": self.candidates,
            "queue": [q.as_dict() for q in self.items],
        }

    def reasons_of(self) -> dict[str, list[Reason]]:
        """item id → its reasons (for the TUI's queue filter and item detail)."""
        return {q.item.id: q.entry.reasons for q in self.items}


def build(
    ws: Workspace,
    incident_id: str,
    size: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    band: float = DEFAULT_BAND,
) -> ReviewQueue:
    from modtui.services.cluster import cluster_items
    from modtui.services.labels import label_corrections
    from modtui.services.masking import masked_items

    loaded = load_and_sync(ws, incident_id)
    items = {i.id: i for i in loaded.items}
    sources, verdicts, unstable = _latest_verdicts(
        ws, loaded.id, {i: it.expected for i, it in items.items()}, loaded.incident.positive_label
    )
    reasons: dict[str, list[Reason]] = {i: [] for i in items}
    for item_id, said in verdicts.items():
        if item_id in reasons:
            reasons[item_id] += [
                r for r in (disagreement(said), low_margin(said, loaded.incident.positive_label, threshold, band)) if r
            ]
    for item_id, detail in unstable.items():
        if item_id in reasons:
            reasons[item_id].append(reason("unstable", detail))
    for item_id, detail in _probe_flips(ws, loaded.id).items():
        if item_id in reasons:
            reasons[item_id].append(reason("probe_flip", detail))
    for item in loaded.items:
        if (r := annotators_disagree(item.annotation_labels())) is not None:
            reasons[item.id].append(r)
    for c in label_corrections(ws, loaded.id, {i: it.expected for i, it in items.items()}).values():
        reasons[c.item_id].append(reason("label_disputed", f"finding #{c.finding_id}: {c.original} → {c.corrected}"))
    clusters = [c.items for c in cluster_items(loaded.items)]
    ranked = rank(reasons, clusters, size)
    masked = masked_items(ws.config.settings, loaded.incident, [items[e.item_id] for e in ranked])
    out = ReviewQueue(loaded.id, threshold, band, sources, candidates=sum(1 for rs in reasons.values() if rs))
    for entry in ranked:
        labels = {v.source: v.label for v in verdicts.get(entry.item_id, [])}
        out.items.append(QueueItem(entry, items[entry.item_id], labels, masked.get(entry.item_id)))
    return out


def _latest_verdicts(
    ws: Workspace, incident_id: str, expected: dict[str, str], positive: str
) -> tuple[list[str], dict[str, list[Verdict]], dict[str, str]]:
    """The sources (target × prompt) of the latest runs, each item's verdicts from them, and the items a repeat
    run found unstable (item id → what its repeats said)."""
    from modtui.services.stability import figures, read_repeats
    from modtui.store import runs as rq
    from modtui.store.review import latest_runs

    verdicts: dict[str, list[Verdict]] = {}
    unstable: dict[str, str] = {}
    with ws.store().read() as session:
        runs = latest_runs(session, incident_id)
        sources = []
        for run in runs:
            source = f"{run.target_name} × {prompt_name(run.prompt_path)}"
            sources.append(source)
            for item_id, outcome, label, _e, confidence, *_rest in rq.scoring_rows(session, run.id):
                verdicts.setdefault(item_id, []).append(Verdict(source, given_label(outcome, label), confidence))
            stability = figures(read_repeats(session, run.id, run.repeats), expected, positive, 0.0)
            for u in stability.unstable if stability else ():
                unstable.setdefault(u.item_id, f"{source}: {' '.join(u.verdicts)}")
    return sources, verdicts, unstable


def _probe_flips(ws: Workspace, incident_id: str) -> dict[str, str]:
    """Parent item id → which mutations flipped it, on which target × prompt."""
    from modtui.services.probe import latest

    found: dict[str, list[str]] = {}
    for run in latest(ws, incident_id).runs:
        for m in run.mutations:
            for f in m.flipped_items:
                found.setdefault(f.parent_id, []).append(f"{m.name} ({run.target} × {run.prompt})")
    return {item: ", ".join(dict.fromkeys(what)) for item, what in found.items()}


def export_csv(queue: ReviewQueue, path: Path) -> int:
    """The queue for a labelling tool (see write_csv) in `path`; returns the rows written. An earlier export whose
    `label` column someone has filled in is never overwritten: those labels exist nowhere else yet."""
    labelled = _labels_in(path)
    if labelled:
        raise InputError(
            [
                Problem(
                    str(path),
                    f"holds {labelled} label(s) filled in: bring them back first (`modtui incident import "
                    f"{queue.incident_id} {path} --update`) and move the file away, or export to another file",
                )
            ]
        )
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            write_csv(queue, f)
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot write the export: {exc.strerror or exc}")]) from exc
    return len(queue.items)


def _labels_in(path: Path) -> int:
    """How many rows of an existing export have a `label` filled in (0 for no file, or one that is not an export)."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = csv.DictReader(f)
            column = EXPORT_COLUMNS[-1]  # the empty `label` column the reviewer fills in
            if column not in (rows.fieldnames or ()):
                return 0
            return sum(1 for row in rows if (row.get(column) or "").strip())
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0


def write_csv(queue: ReviewQueue, stream: TextIO) -> None:
    """One row per item with an empty `label` column to fill in; cells a spreadsheet would run as a formula are
    made inert."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for q in queue.items:
        writer.writerow([_cell(v) for v in _export_row(q)])


def _export_row(q: QueueItem) -> Sequence[str]:
    reasons = "; ".join(f"{r.code}: {r.detail}" for r in q.entry.reasons)
    labels = "; ".join(f"{source}: {label or 'no verdict'}" for source, label in q.labels.items())
    return (q.item.id, q.content, reasons, q.item.expected, q.item.observed or "", labels, "")


def _cell(value: str) -> str:
    return inert_cell(value)
