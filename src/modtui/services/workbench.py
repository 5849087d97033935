"""Workbench services for the TUI: the verdict matrix, item history, in-memory candidates, saving them."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, ScoredItem, correct, run_metrics
from modtui.errors import Problem, UsageError
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.loader import LoadedPrompt, parse_prompt
from modtui.services import replay as replay_service
from modtui.services.scoring import scored
from modtui.store import runs as q
from modtui.store.tables import ResultRow, RunRow
from modtui.workspace import Workspace

UNSAVED_NAME = "(unsaved candidate)"
PROMPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class VerdictColumn:
    """Every verdict one target × prompt version gave on this incident (newest result per item)."""

    target: str
    prompt_version: str
    prompt_path: str
    is_baseline: bool
    run_ids: list[int]
    results: dict[str, ResultRow]
    metrics: RunMetrics
    flips: FlipReport | None = None
    baseline_key: tuple[str, str] | None = None
    title: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.target, self.prompt_version

    @property
    def prompt_name(self) -> str:
        return Path(self.prompt_path).stem


@dataclass
class VerdictMatrix:
    positive: str
    columns: list[VerdictColumn] = field(default_factory=list)
    flipped: frozenset[str] = frozenset()
    regressed: frozenset[str] = frozenset()
    no_verdict: frozenset[str] = frozenset()


def candidate_prompt(policy: str, text: str) -> LoadedPrompt:
    """The editor's text as a prompt the engine can run; raises InputError with the problems."""
    return parse_prompt(text, f"prompts/{policy}/{UNSAVED_NAME}.yaml")


def verdict_matrix(ws: Workspace, loaded: LoadedIncident) -> VerdictMatrix:
    """One column per target × prompt version replayed on the incident, with metrics and flips."""
    positive = loaded.incident.positive_label
    expected = {i.id: i.expected for i in loaded.items}
    with ws.store().read() as session:
        runs = sorted(q.runs_for(session, loaded.id, limit=10_000), key=lambda r: r.id or 0)
        production = _production_version(session, runs, loaded)
        columns: dict[tuple[str, str], VerdictColumn] = {}
        for run in runs:
            key = (run.target_name, run.prompt_version)
            column = columns.get(key)
            if column is None:
                column = columns[key] = VerdictColumn(run.target_name, run.prompt_version, run.prompt_path,
                                                      run.prompt_version == production, [], {}, _empty_metrics())
            column.run_ids.append(run.id)  # type: ignore[arg-type]
            column.prompt_path = run.prompt_path
            for result in q.results_of(session, run.id):  # type: ignore[arg-type]
                if result.item_id in expected:
                    column.results[result.item_id] = result  # newer runs overwrite older results
    matrix = VerdictMatrix(positive, list(columns.values()))
    _score(matrix, expected)
    _title(matrix.columns)
    return matrix


def _production_version(session: Any, runs: list[RunRow], loaded: LoadedIncident) -> str | None:
    path = loaded.incident.production.prompt
    versions = [r.prompt_version for r in runs if r.prompt_path == path]
    return versions[-1] if versions else None


def _empty_metrics() -> RunMetrics:
    return run_metrics([], "")


def _score(matrix: VerdictMatrix, expected: dict[str, str]) -> None:
    scored_columns = {c.key: scored(list(c.results.values()), expected) for c in matrix.columns}
    baselines = {c.target: c.key for c in matrix.columns if c.is_baseline}
    flipped: set[str] = set()
    regressed: set[str] = set()
    no_verdict: set[str] = set()
    for column in matrix.columns:
        items = scored_columns[column.key]
        column.metrics = run_metrics(items, matrix.positive)
        no_verdict.update(i.item_id for i in items if i.label is None)
        base_key = baselines.get(column.target)
        if base_key is None or column.is_baseline:
            continue
        column.baseline_key = base_key
        column.flips = compare(scored_columns[base_key], items, matrix.positive)
        flipped.update(column.flips.fixed, column.flips.regressed)
        regressed.update(column.flips.regressed)
    matrix.flipped, matrix.regressed, matrix.no_verdict = frozenset(flipped), frozenset(regressed), frozenset(no_verdict)


def _title(columns: list[VerdictColumn]) -> None:
    names: dict[str, int] = {}
    for column in columns:
        base = f"{column.target}:{column.prompt_name}"
        names[base] = names.get(base, 0) + 1
    for column in columns:
        base = f"{column.target}:{column.prompt_name}"
        column.title = base if names[base] == 1 else f"{base}@{column.prompt_version[:6]}"


def is_correct(result: ResultRow, expected: str) -> bool | None:
    """True/False for a verdict, None when the result has no verdict."""
    if result.outcome != "label" or result.label is None:
        return None
    return correct(ScoredItem(item_id=result.item_id, expected=expected, label=result.label))


@dataclass
class VerdictRecord:
    run_id: int
    target: str
    prompt_path: str
    prompt_version: str
    outcome: str
    label: str | None
    confidence: float | None
    rationale: str | None
    error: str | None
    at: str
    cached: bool


def item_history(ws: Workspace, incident_id: str, item_id: str) -> list[VerdictRecord]:
    """Every verdict ever logged for one item of the incident, newest first."""
    query = (select(ResultRow, RunRow).join(RunRow, ResultRow.run_id == RunRow.id)  # type: ignore[arg-type]
             .where(RunRow.incident_id == incident_id, ResultRow.item_id == item_id)
             .order_by(ResultRow.created_at.desc(), ResultRow.run_id.desc()))  # type: ignore[union-attr,attr-defined]
    with ws.store().read() as session:
        rows = list(session.exec(query))
    return [VerdictRecord(run.id, run.target_name, run.prompt_path, run.prompt_version, r.outcome, r.label,  # type: ignore[arg-type]
                          r.confidence, r.rationale, r.error_type or r.detail, r.created_at, bool(r.cached))
            for r, run in rows]


class _SourcedWorkspace(Workspace):
    """The workspace, except that prompts held in memory answer prompt_source from the editor's text."""

    sources: dict[str, str]

    def prompt_source(self, prompt: LoadedPrompt) -> str:
        return self.sources.get(prompt.path) or super().prompt_source(prompt)


def plan_with_prompts(ws: Workspace, spec: replay_service.ReplaySpec, prompts: Sequence[LoadedPrompt],
                      sources: dict[str, str] | None = None) -> replay_service.ReplayPlan:
    """Like services.replay.plan, but with prompts given as objects (e.g. an unsaved candidate).

    `sources` maps an in-memory prompt's path to its YAML text, stored as that version's source.
    """
    if spec.items not in replay_service.ITEM_SETS:
        raise UsageError(Problem("items", f"'{spec.items}' is not one of {', '.join(replay_service.ITEM_SETS)}"))
    if not prompts:
        raise UsageError(Problem("prompts", "choose at least one prompt to replay"))
    if not spec.targets:
        raise UsageError(Problem("targets", "choose at least one target"))
    loaded = replay_service.load_and_sync(ws, spec.incident_id)
    production = ws.load_prompt(loaded.incident.production.prompt)
    chosen = replay_service._unique(list(prompts))
    targets = replay_service._unique_targets([ws.target(t) for t in spec.targets])
    items = replay_service.select_items(loaded.items, spec.items)
    if not items:
        raise UsageError(Problem(spec.incident_id, f"no {spec.items} items to replay"))
    sourced = _SourcedWorkspace(ws.root, ws.config, ws.db, ws.store())
    sourced.sources = dict(sources or {})
    jobs = replay_service._jobs(sourced, loaded, chosen, targets, items, spec)
    return replay_service.ReplayPlan(loaded, chosen, targets, items, jobs, production.version)


def save_candidate(ws: Workspace, policy: str, name: str, text: str) -> Path:
    """Write the candidate as prompts/<policy>/<name>.yaml after validating it; never overwrites."""
    name = name.strip().removesuffix(".yaml")
    if not PROMPT_NAME.match(name):
        raise UsageError(Problem("name", f"'{name}' is not a usable file name: use letters, digits, '.', '_' or '-'"))
    path = ws.prompts_dir / policy / f"{name}.yaml"
    shown = ws.relative(path) if path.is_absolute() else str(path)
    parse_prompt(text, f"prompts/{policy}/{name}.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except FileExistsError:
        raise UsageError(Problem(shown, "a prompt with this name already exists; choose another name")) from None
    return path
