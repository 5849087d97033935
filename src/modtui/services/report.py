"""The handoff report: what a new on-call person needs to act on an incident, as one JSON-ready dict.

The shape is `report/schema.json` (documented in docs/report.md); `report.markdown` renders it. Headline
numbers are each run's as recorded when it finished, on the incident's original gold labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import ScoredItem, correct
from modtui.domain.finding import Finding
from modtui.domain.incident import Item, feature_text
from modtui.domain.masking import masked_text
from modtui.domain.prompt_name import prompt_name
from modtui.domain.run import RunStatus
from modtui.errors import InputError
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.diff import unified
from modtui.report import SCHEMA_ID
from modtui.report.redact import REDACTED, redact_data
from modtui.services import findings as findings_svc
from modtui.services import labels as labels_svc
from modtui.services import report_rootcause, robustness
from modtui.services.cluster import cluster_items
from modtui.services import incidents as incidents_svc
from modtui.services.incidents import load_and_sync
from modtui.services.masking import masked_items
from modtui.services.report_needs import next_steps
from modtui.services.runs import summary_intervals
from modtui.services.scoring import baseline_name, observed_as_run, scored_run
from modtui.store import runs as q
from modtui.store.records import RunRecord
from modtui.timeutil import iso, now_iso
from modtui.workspace import Workspace

ITEM_LIMIT = 50  # items listed per "needs" list or cluster (the count is always the full number)
CLUSTER_LIMIT = 20  # the largest near-duplicate clusters listed (cluster_count has them all)
PREVIEW_CHARS = 200
KEEP_KEYS = frozenset(
    {
        "schema",
        "generated_at",
        "id",
        "run_id",
        "baseline_run_id",
        "item",
        "finding",
        "version",
        "prompt_version",
        "at",
        "created_at",
        "resolved_at",
        "started_at",
        "finished_at",
        "opened_at",
        "superseded_by",
        "severity",
        "status",
        "kind",
        "category",
        "expected",
        "label",
        "original",
        "corrected",
        "target",
        "prompt",
        "path",
    }
)


@dataclass(frozen=True)
class ReportOptions:
    redact: bool = False  # item content and personal data out, everywhere
    mask: bool = True  # content of items the workspace's wellbeing setting masks is hidden


@dataclass
class _Best:
    run: RunRecord
    summary: dict[str, Any]
    baseline: RunRecord | None
    results: list[ScoredItem]
    flips: FlipReport | None


def build(ws: Workspace, incident_id: str, options: ReportOptions = ReportOptions()) -> dict[str, Any]:
    loaded = load_and_sync(ws, incident_id)
    items = {i.id: i for i in loaded.items}
    masks = masked_items(ws.config.settings, loaded.incident, loaded.items) if options.mask else {}
    with ws.store().read() as session:
        runs = sorted(q.runs_for(session, loaded.id, limit=100_000), key=lambda r: r.id or 0)
    production = _production_versions(ws, loaded, runs)
    best = _best_candidate(ws, loaded, runs, production)
    found = findings_svc.list_findings(ws, loaded.id)
    corrections = labels_svc.label_corrections(ws, loaded.id, {i.id: i.expected for i in loaded.items})
    content = _Content(items, masks, options)
    data: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "generated_at": now_iso(),
        "options": {"redacted": options.redact, "masked": options.mask, "masked_items": len(masks)},
        "incident": _incident(loaded),
        "summary": "",
        "conditions": _conditions(loaded, corrections, content),
        "actions": _actions(ws, loaded, runs, production, best),
        "findings": [_finding(f, items) for f in found],
        "needs": _needs(loaded, best, found, content),
        "robustness": robustness.section(ws, loaded, content.text),
        "root_cause": report_rootcause.section(ws, loaded, _analysed(runs, production, best), content.entry),
        "timeline": [
            {"at": e.at, "author": e.author, "kind": e.kind, "summary": e.summary}
            for e in reversed(incidents_svc.timeline(ws, loaded.id))
        ],
    }
    data["summary"] = _summary(data)
    data["needs"]["next_steps"] = next_steps(data, best is not None and best.run.item_set != "all")
    if options.redact:
        data = redact_data(data, [i.content for i in loaded.items], KEEP_KEYS)
    return data


def _incident(loaded: LoadedIncident) -> dict[str, Any]:
    inc = loaded.incident
    return {
        **inc.headline(),
        "labels": list(inc.labels),
        "positive_label": inc.positive_label,
        "production": {"prompt": inc.production.prompt, "model": inc.production.model},
        "opened_at": iso(inc.opened_at),
        "reported_by": inc.reported_by,
        "tags": list(inc.tags),
        "description": inc.description.strip(),
    }


def _conditions(loaded: LoadedIncident, corrections: dict, content: "_Content") -> dict[str, Any]:
    kinds = Counter(i.kind.value if i.kind else "eval" for i in loaded.items)
    by_kind = {k: kinds[k] for k in ("false_positive", "false_negative", "guard", "eval")}
    found = cluster_items(loaded.items)
    clusters = [
        {
            "id": c.id,
            "size": c.size,
            "items": c.items[:ITEM_LIMIT],
            "kinds": dict(c.kinds),
            "representative": c.representative,
            "preview": content.text(content.items[c.representative]),
        }
        for c in found[:CLUSTER_LIMIT]
    ]
    return {
        "items": len(loaded.items),
        "by_kind": by_kind,
        "failing": by_kind["false_positive"] + by_kind["false_negative"],
        "corrected_labels": labels_svc.corrections_dict(corrections),
        "cluster_count": len(found),
        "clusters": clusters,
    }


# -- runs, prompt versions, the best candidate ------------------------------------------------------------


def _production_versions(ws: Workspace, loaded: LoadedIncident, runs: list[RunRecord]) -> set[str]:
    """The production prompt's versions: the file's current one and every version run from its path."""
    path = loaded.incident.production.prompt
    versions = {r.prompt_version for r in runs if r.prompt_path == path}
    try:
        versions.add(ws.load_prompt(path).version)
    except InputError:
        pass  # the production file is gone or broken: the runs still say which versions were production
    return versions


def _summary_of(run: RunRecord) -> dict[str, Any]:
    return run.summary


def _run_entry(run: RunRecord, production: set[str]) -> dict[str, Any]:
    s = _summary_of(run)
    return {
        "run_id": run.id,
        "target": run.target_name,
        "prompt": prompt_name(run.prompt_path),
        "prompt_version": run.prompt_version,
        "production": run.prompt_version in production,
        "items": s.get("items", run.items_total),
        "item_set": run.item_set,
        "status": run.status,
        "author": run.author,
        "started_at": run.started_at,
        "precision": s.get("precision"),
        "recall": s.get("recall"),
        "f1": s.get("f1"),
        **summary_intervals(s),
        "fixed": s.get("fixed"),
        "regressed": s.get("regressed"),
        "mcnemar_p": s.get("mcnemar_p"),
        "baseline_run_id": s.get("baseline_run_id"),
        "baseline": _baseline_of(s),
        "cost_usd": s.get("cost_usd"),
    }


def _baseline_of(summary: dict[str, Any]) -> str | None:
    """What the run's fixed/regressed counts are against (None: it has none)."""
    if summary.get("fixed") is None:
        return None
    return summary.get("baseline") or baseline_name(summary.get("baseline_run_id"))


def _latest(runs: list[RunRecord]) -> list[RunRecord]:
    """The latest run of each target × prompt version (finished runs preferred over running ones)."""
    latest: dict[tuple[str, str], RunRecord] = {}
    for run in runs:  # ascending ids
        key = (run.target_name, run.prompt_version)
        if run.status is not RunStatus.RUNNING or key not in latest or latest[key].status is RunStatus.RUNNING:
            latest[key] = run
    return list(latest.values())


def _best_candidate(ws: Workspace, loaded: LoadedIncident, runs: list[RunRecord], production: set[str]) -> _Best | None:
    """The candidate with the best F1 among the latest runs (ties: fewer regressed, then newer). A candidate with no
    F1 (it flagged nothing, so precision is undefined) ranks below every F1 but is still the candidate tried."""
    candidates = [r for r in _latest(runs) if r.prompt_version not in production]
    if not candidates:
        return None

    def rank(r: RunRecord) -> tuple[bool, float, int, int]:
        f1 = _summary_of(r).get("f1")
        return (f1 is not None, f1 or 0.0, -(_summary_of(r).get("regressed") or 0), r.id or 0)

    run = max(candidates, key=rank)
    summary = _summary_of(run)
    expected = {i.id: i.expected for i in loaded.items}
    # the counts are against the baseline the run was replayed with, as in the runs table: never a second one
    observed = _baseline_of(summary) == "observed"
    with ws.store().read() as session:
        base = q.get_run(session, summary["baseline_run_id"]) if summary.get("baseline_run_id") else None
        base = base or (None if observed else _production_run(runs, run.target_name, production))
        results = scored_run(session, run.id, expected)
        base_results = scored_run(session, base.id, expected) if base else None
    if observed:
        base_results = observed_as_run(loaded.items)
    flips = compare(base_results, results, loaded.incident.positive_label) if base_results is not None else None
    return _Best(run, summary, base, results, flips)


def _analysed(runs: list[RunRecord], production: set[str], best: _Best | None) -> list[tuple[str, RunRecord]]:
    """The runs the root-cause sections cut: the best candidate and its production baseline, else the latest run."""
    if best is not None:
        return ([("production", best.baseline)] if best.baseline is not None else []) + [("candidate", best.run)]
    done = [r for r in runs if r.status is not RunStatus.RUNNING]
    if not done:
        return []
    return [("production" if done[-1].prompt_version in production else "latest", done[-1])]


def _production_run(runs: list[RunRecord], target: str, production: set[str]) -> RunRecord | None:
    matching = [r for r in runs if r.target_name == target and r.prompt_version in production]
    return matching[-1] if matching else None


def _actions(
    ws: Workspace, loaded: LoadedIncident, runs: list[RunRecord], production: set[str], best: _Best | None
) -> dict[str, Any]:
    versions: dict[str, dict[str, Any]] = {}
    for run in runs:
        entry = versions.setdefault(
            run.prompt_version,
            {
                "version": run.prompt_version,
                "path": run.prompt_path,
                "production": run.prompt_version in production,
                "runs": [],
            },
        )
        entry["runs"].append(run.id)
    return {
        "runs": [_run_entry(r, production) for r in runs],
        "prompt_versions": list(versions.values()),
        "best_candidate": _best_entry(ws, loaded, best, production) if best else None,
    }


def _best_entry(ws: Workspace, loaded: LoadedIncident, best: _Best, production: set[str]) -> dict[str, Any]:
    run = best.run
    base_source, base_path = _production_source(ws, loaded, best.baseline)
    cand_source = _version_source(ws, run.prompt_version) or ""
    return {
        **_run_entry(run, production),
        "baseline_run_id": best.baseline.id if best.baseline else None,
        "baseline": baseline_name(best.baseline.id) if best.baseline else "observed" if best.flips else None,
        "fixed": len(best.flips.fixed) if best.flips else None,
        "regressed": len(best.flips.regressed) if best.flips else None,
        "mcnemar_p": best.flips.mcnemar_p if best.flips else None,
        "diff": unified(base_source, cand_source, base_path, run.prompt_path),
    }


def _version_source(ws: Workspace, version: str) -> str | None:
    with ws.store().read() as session:
        stored = q.stored_prompt(session, version)
    return stored[0] if stored else None


def _production_source(ws: Workspace, loaded: LoadedIncident, baseline: RunRecord | None) -> tuple[str, str]:
    """The production prompt as its baseline run saw it (else the file as it is now)."""
    if baseline is not None:
        source = _version_source(ws, baseline.prompt_version)
        if source is not None:
            return source, baseline.prompt_path
    path = loaded.incident.production.prompt
    try:
        return ws.prompt_source(ws.load_prompt(path)), path
    except InputError:
        return "", path


# -- findings and needs --------------------------------------------------------------------------------------


def _finding(f: Finding, items: dict[str, Item]) -> dict[str, Any]:
    d = f.as_dict()
    d.pop("incident")
    d["corrections"] = [
        {"item": item, "original": items[item].expected if item in items else None, "corrected": label}
        for item, label in sorted(f.corrections.items())
    ]
    return d


class _Content:
    """Item content as the report may show it: redacted, masked, or a clipped preview."""

    def __init__(self, items: dict[str, Item], masks: dict[str, str], options: ReportOptions) -> None:
        self.items, self.masks, self.options = items, masks, options

    def entry(self, item_id: str, scored_item: ScoredItem | None = None) -> dict[str, Any]:
        item = self.items[item_id]
        label = None if scored_item is None else scored_item.label or scored_item.outcome
        return {
            "item": item_id,
            "kind": item.kind.value if item.kind else "eval",
            "expected": item.expected,
            "label": label,
            "masked": item_id in self.masks,
            "content": self.text(item),
        }

    def text(self, item: Item) -> str:
        if self.options.redact:
            return REDACTED
        if item.id in self.masks:
            return masked_text(self.masks[item.id])
        flat = " ".join(feature_text(item.content).split())
        return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def _needs(loaded: LoadedIncident, best: _Best | None, found: list[Finding], content: _Content) -> dict[str, Any]:
    failing = [s for s in best.results if not correct(s)] if best else []
    regressed = list(best.flips.regressed) if best and best.flips else []
    by_id = {s.item_id: s for s in best.results} if best else {}
    return {
        "open_findings": [{"id": f.id, "category": f.category, "summary": f.summary} for f in found if f.is_open],
        "still_failing": {
            "count": len(failing),
            "run_id": best.run.id if best else None,
            "items": [content.entry(s.item_id, s) for s in failing[:ITEM_LIMIT]],
        },
        "regressions": {
            "count": len(regressed),
            "run_id": best.run.id if best else None,
            "items": [content.entry(i, by_id.get(i)) for i in regressed[:ITEM_LIMIT]],
        },
        "next_steps": [],
    }


def _summary(data: dict[str, Any]) -> str:
    inc, cond, actions = data["incident"], data["conditions"], data["actions"]
    kinds = cond["by_kind"]
    text = (
        f"{inc['id']} ({inc['severity']}, {inc['status']}): {inc['title']}. {cond['failing']} failing items "
        f"({kinds['false_positive']} false positives, {kinds['false_negative']} false negatives) and "
        f"{kinds['guard']} guard items."
    )
    runs, best = actions["runs"], actions["best_candidate"]
    if not runs:
        text += " No replays yet."
    elif best is None:
        text += f" {len(runs)} run(s), none of a candidate prompt."
    else:
        base = next((r for r in runs if r["run_id"] == best["baseline_run_id"]), None)
        vs = f" (production {_num(base['f1'])})" if base else ""
        against = f" against {best['baseline']}" if best.get("baseline") else ""
        text += (
            f" {len(runs)} run(s); best candidate {best['prompt']} on {best['target']} (run {best['run_id']}): "
            f"F1 {_num(best['f1'])}{vs}, {best['fixed'] if best['fixed'] is not None else '-'} fixed, "
            f"{best['regressed'] if best['regressed'] is not None else '-'} regressed{against}."
        )
    open_count = len(data["needs"]["open_findings"])
    return text + f" {len(data['findings'])} finding(s), {open_count} open."


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
