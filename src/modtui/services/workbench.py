"""Workbench services for the TUI: the verdict matrix, item history, in-memory candidates, saving them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modtui.analysis.calibration import Calibration, calibration
from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, ScoredItem, given_label, run_metrics
from modtui.analysis.sweep import Sweep, sweep
from modtui.domain.verdict import Outcome, Verdict
from modtui.errors import InputError, Problem, UsageError
from modtui.files.text import read_text
from modtui.files.paths import name_problem
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.loader import LoadedPrompt, parse_prompt
from modtui.services import replay as replay_service
from modtui.services.incidents import load_and_sync
from modtui.store import runs as q
from modtui.workspace import Workspace

UNSAVED_NAME = "(unsaved candidate)"
PROMPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# One stored result as the workbench holds it, a plain tuple of store.runs.SCORING_COLUMNS:
#   (item_id, outcome, label, error_type, confidence, latency_ms, cost_usd, tokens_in, tokens_out, cached)
# The garbage collector stops tracking tuples of plain values; 100,000 NamedTuples it would scan on
# every full collection (~200 ms each, a visible stall in the TUI).
Result = tuple[Any, ...]
ITEM_ID, OUTCOME, LABEL, ERROR_TYPE, CONFIDENCE = range(5)


def new_result(item_id: str, verdict: Verdict) -> Result:
    return (
        item_id,
        verdict.outcome.value,
        verdict.label if verdict.has_label else None,
        verdict.error_type,
        verdict.confidence,
        None,
        None,
        None,
        None,
        False,
    )


@dataclass
class VerdictColumn:
    """Every verdict one target × prompt version gave on this incident (newest result per item)."""

    target: str
    prompt_version: str
    prompt_path: str
    is_baseline: bool
    run_ids: list[int]
    results: dict[str, Result]
    metrics: RunMetrics | None = None  # None until scored
    flips: FlipReport | None = None
    baseline_key: tuple[str, str] | None = None
    title: str = ""
    no_verdict: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return self.target, self.prompt_version

    @property
    def prompt_name(self) -> str:
        return Path(self.prompt_path).stem


ColumnKey = tuple[str, str]
ColumnScore = tuple[RunMetrics, FlipReport | None, ColumnKey | None, frozenset[str]]


@dataclass
class ScoringInput:
    positive: str
    expected: dict[str, str]
    columns: list[tuple[ColumnKey, str, bool, list[Result]]]  # key, target, is_baseline, results


@dataclass
class VerdictMatrix:
    positive: str
    expected: dict[str, str] = field(default_factory=dict)  # item id → gold label
    columns: list[VerdictColumn] = field(default_factory=list)
    flipped: frozenset[str] = frozenset()
    regressed: frozenset[str] = frozenset()
    no_verdict: frozenset[str] = frozenset()
    scored: bool = False

    def column(self, key: ColumnKey) -> VerdictColumn | None:
        return next((c for c in self.columns if c.key == key), None)

    def open_run(self, run_id: int, target: str, prompt: LoadedPrompt, is_baseline: bool) -> VerdictColumn:
        """The column a run starting now writes into (a new one for a target × prompt never replayed)."""
        column = self.column((target, prompt.version))
        if column is None:
            column = VerdictColumn(target, prompt.version, prompt.path, is_baseline, [], {})
            self.columns.append(column)
            _title(self.columns)
        if is_baseline:  # the production prompt's newest version is the baseline, as in verdict_matrix
            for other in self.columns:
                other.is_baseline = other is column or (other.is_baseline and other.target != target)
        if run_id not in column.run_ids:
            column.run_ids.append(run_id)
        return column

    def record(self, column: VerdictColumn, item_id: str, verdict: Verdict) -> bool:
        """A result that just arrived (metrics follow on `rescore`); False for an item not in the incident."""
        if item_id not in self.expected:
            return False
        column.results[item_id] = new_result(item_id, verdict)
        return True

    def scoring_input(self, targets: set[str] | None = None) -> ScoringInput:
        """What `score` needs, copied so that it can run in a thread while results keep arriving."""
        chosen = [c for c in self.columns if targets is None or c.target in targets]
        return ScoringInput(
            self.positive, self.expected, [(c.key, c.target, c.is_baseline, list(c.results.values())) for c in chosen]
        )

    def apply(self, scores: dict[ColumnKey, ColumnScore]) -> None:
        for column in self.columns:
            if column.key in scores:
                column.metrics, column.flips, column.baseline_key, column.no_verdict = scores[column.key]
        flips = [c.flips for c in self.columns if c.flips is not None]
        self.flipped = frozenset(i for f in flips for i in (*f.fixed, *f.regressed))
        self.regressed = frozenset(i for f in flips for i in f.regressed)
        self.no_verdict = frozenset(i for c in self.columns for i in c.no_verdict)
        self.scored = True

    def rescore(self, targets: set[str] | None = None) -> None:
        self.apply(score(self.scoring_input(targets)))

    def scored_items(self, column: VerdictColumn) -> list[ScoredItem]:
        return scored_items(list(column.results.values()), self.expected)

    def sweep(self, column: VerdictColumn) -> Sweep | None:
        """Precision/recall at every confidence threshold; None when no verdict has a confidence."""
        return sweep(self.scored_items(column), self.positive)

    def calibration(self, column: VerdictColumn) -> Calibration | None:
        """Reliability bins and ECE of the column's confidences; None when no verdict has a confidence."""
        return calibration(self.scored_items(column), self.positive)


def column_citations(ws: Workspace, column: VerdictColumn) -> dict[str, tuple[str, ...]]:
    """item id → the rules the column's newest stored verdict on it cited (runs read oldest first, so a later
    run's result, citing or not, replaces an earlier one's)."""
    from modtui.store.runs import cited_rules, done_item_ids

    out: dict[str, tuple[str, ...]] = {}
    with ws.store().read() as session:
        for run_id in sorted(column.run_ids):
            citations = cited_rules(session, run_id)
            for item_id in done_item_ids(session, run_id):
                out[item_id] = citations[item_id].rules if item_id in citations else ()
    return out


def scored_items(results: Sequence[Result], expected: dict[str, str]) -> list[ScoredItem]:
    return [
        ScoredItem(
            item_id,
            expected[item_id],
            given_label(outcome, label),
            outcome,
            error_type,
            confidence,
            latency,
            cost,
            tokens_in,
            tokens_out,
            bool(cached),
        )
        for item_id, outcome, label, error_type, confidence, latency, cost, tokens_in, tokens_out, cached in results
        if item_id in expected
    ]


def score(given: ScoringInput) -> dict[ColumnKey, ColumnScore]:
    """Metrics, flips against the same target's baseline column, and no-verdict items, per column."""
    items = {key: scored_items(results, given.expected) for key, _t, _b, results in given.columns}
    baselines = {target: key for key, target, is_baseline, _r in given.columns if is_baseline}
    out: dict[ColumnKey, ColumnScore] = {}
    for key, target, is_baseline, _results in given.columns:
        metrics = run_metrics(items[key], given.positive)
        no_verdict = frozenset(i.item_id for i in items[key] if i.label is None)
        base = baselines.get(target)
        if base is None or is_baseline:
            out[key] = (metrics, None, None, no_verdict)
        else:
            out[key] = (metrics, compare(items[base], items[key], given.positive), base, no_verdict)
    return out


def candidate_prompt(policy: str, text: str) -> LoadedPrompt:
    """The editor's text as a prompt the engine can run; raises InputError with the problems."""
    return parse_prompt(text, f"prompts/{policy}/{UNSAVED_NAME}.yaml")


def verdict_matrix(ws: Workspace, loaded: LoadedIncident, *, scored: bool = True) -> VerdictMatrix:
    """One column per target × prompt version replayed on the incident, with metrics and flips.

    Reads plain rows (no ORM objects). With `scored=False` the metrics are left for `rescore`,
    which the TUI runs in a thread for a large incident.
    """
    expected = {i.id: i.expected for i in loaded.items}
    with ws.store().read() as session:
        runs = q.incident_runs(session, loaded.id)
        rows = q.incident_results(session, loaded.id)
    production = _production_version(runs, loaded.incident.production.prompt)
    columns: dict[ColumnKey, VerdictColumn] = {}
    results_of_run: dict[int, dict[str, Result]] = {}
    for run_id, target, version, path in runs:
        column = columns.get((target, version))
        if column is None:
            column = columns[(target, version)] = VerdictColumn(target, version, path, version == production, [], {})
        column.run_ids.append(run_id)
        column.prompt_path = path
        results_of_run[run_id] = column.results
    for row in rows:  # ordered by run: newer runs overwrite older results of the same column
        results_of_run[row[0]][row[1]] = tuple(row[1:])
    matrix = VerdictMatrix(loaded.incident.positive_label, expected, list(columns.values()))
    _title(matrix.columns)
    if scored:
        matrix.rescore()
    return matrix


def count_results(ws: Workspace, incident_id: str, upto: int | None = None) -> int:
    """How many results the log holds for the incident (to decide whether loading them is instant), up to `upto`."""
    with ws.store().read() as session:
        return q.count_incident_results(session, incident_id, upto)


def _production_version(runs: Sequence[Any], path: str) -> str | None:
    versions = [version for _id, _target, version, prompt_path in runs if prompt_path == path]
    return versions[-1] if versions else None


def _title(columns: list[VerdictColumn]) -> None:
    names: dict[str, int] = {}
    for column in columns:
        base = f"{column.target}:{column.prompt_name}"
        names[base] = names.get(base, 0) + 1
    for column in columns:
        base = f"{column.target}:{column.prompt_name}"
        column.title = base if names[base] == 1 else f"{base}@{column.prompt_version[:6]}"


def is_correct(result: Result, expected: str) -> bool | None:
    """True/False for a verdict (as analysis.metrics.correct), None when the result has no verdict."""
    if result[OUTCOME] != Outcome.LABEL or result[LABEL] is None:
        return None
    return result[LABEL] == expected


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
    rules: tuple[str, ...] = ()  # the policy rules the verdict cited, in order (m006), when the reply named them
    unknown_rules: tuple[str, ...] = ()  # those of them the prompt's policy does not name


def item_history(ws: Workspace, incident_id: str, item_id: str) -> list[VerdictRecord]:
    """Every verdict ever logged for one item of the incident, newest first."""
    with ws.store().read() as session:
        rows = q.item_results(session, incident_id, item_id)
    return [
        VerdictRecord(
            run.id,
            run.target_name,
            run.prompt_path,
            run.prompt_version,
            r.outcome.value,
            r.label,
            r.confidence,
            r.rationale,
            r.error_type or r.detail,
            r.created_at,
            r.cached,
            r.rules,
            r.unknown_rules,
        )
        for run, r in rows
    ]


def plan_with_prompts(
    ws: Workspace,
    spec: replay_service.ReplaySpec,
    prompts: Sequence[LoadedPrompt],
    sources: dict[str, str] | None = None,
) -> replay_service.ReplayPlan:
    """Like services.replay.plan, but with prompts given as objects (e.g. an unsaved candidate).

    `sources` maps an in-memory prompt's path to its YAML text, stored as that version's source.
    """
    if spec.items not in replay_service.ITEM_SETS:
        raise UsageError(Problem("items", f"'{spec.items}' is not one of {', '.join(replay_service.ITEM_SETS)}"))
    if not prompts:
        raise UsageError(Problem("prompts", "choose at least one prompt to replay"))
    if not spec.targets:
        raise UsageError(Problem("targets", "choose at least one target"))
    loaded = load_and_sync(ws, spec.incident_id)
    production = ws.load_prompt(loaded.incident.production.prompt)
    chosen = replay_service.unique_prompts(list(prompts))
    targets = replay_service.unique_targets([ws.target(t) for t in spec.targets])
    items = replay_service.select_items(loaded.items, spec.items)
    if not items:
        raise UsageError(Problem(spec.incident_id, f"no {spec.items} items to replay"))
    jobs = replay_service.start_jobs(ws, loaded, chosen, targets, items, spec, dict(sources or {}))
    return replay_service.ReplayPlan(loaded, chosen, targets, items, jobs, production.version)


def save_candidate(ws: Workspace, policy: str, name: str, text: str) -> Path:
    """Write the candidate as prompts/<policy>/<name>.yaml after validating it; never overwrites."""
    name = name.strip().removesuffix(".yaml")
    if not PROMPT_NAME.match(name):
        raise UsageError(Problem("name", f"'{name}' is not a usable file name: use letters, digits, '.', '_' or '-'"))
    reason = name_problem(name)
    if reason:
        raise UsageError(Problem("name", reason))
    shown = f"prompts/{policy}/{name}.yaml"
    # the policy folder may be a symlink, or the policy a path in an old file: never write outside the workspace
    path = ws.inside(ws.prompts_dir / policy / f"{name}.yaml", shown)
    parse_prompt(text, f"prompts/{policy}/{name}.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except FileExistsError:
        raise UsageError(Problem(shown, "a prompt with this name already exists; choose another name")) from None
    return path


@dataclass(frozen=True)
class PromptFile:
    path: str  # workspace-relative
    modified: float  # mtime, seconds
    is_production: bool


def policy_prompts(ws: Workspace, loaded: LoadedIncident) -> list[PromptFile]:
    """The prompt files of the incident's policy folder, newest first (ties by name); production marked."""
    folder = ws.prompts_dir / loaded.incident.policy
    production = ws.relative(ws.prompt_path(loaded.incident.production.prompt))
    files = (
        [
            PromptFile(ws.relative(p), p.stat().st_mtime, ws.relative(p) == production)
            for p in folder.glob("*.yaml")
            if p.is_file()
        ]
        if folder.is_dir()
        else []
    )
    return sorted(files, key=lambda f: (-f.modified, f.path))


def starting_candidate(ws: Workspace, loaded: LoadedIncident) -> tuple[tuple[str, str] | None, list[str]]:
    """Where the candidate editor starts: (path, text) of the newest non-production prompt file of the policy that
    reads, if any; and why each newer one was skipped (one unreadable file must not lock the policy's incidents)."""
    skipped: list[str] = []
    for f in policy_prompts(ws, loaded):
        if f.is_production:
            continue
        try:
            return (f.path, read_text(ws.root / f.path, f.path)), skipped
        except InputError as exc:
            skipped.append(str(exc))
    return None, skipped
