"""The replay service: plan runs from an incident, run the engine, and report metrics and flips."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.flips import FlipReport, compare
from modtui.analysis.metrics import RunMetrics, ScoredItem, run_metrics
from modtui.analysis.stability import Stability
from modtui.analysis.sweep import Sweep, sweep
from modtui.config import CONFIG_FILE
from modtui.domain.incident import FAILING_KINDS, Item, ItemKind
from modtui.domain.run import RunStatus
from modtui.domain.target import Target
from modtui.errors import ConfigError, Problem, StoreError, UsageError
from modtui.incidents.loader import IncidentFiles, LoadedIncident
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.render import Messages
from modtui.replay.engine import RESULTS_VERSION, Engine, Job
from modtui.replay.events import RunProgress
from modtui.replay.workers import HeadStart
from modtui.secrets import Scrubber, key_for
from modtui.services import golden, precedent
from modtui.services.incidents import load_and_sync
from modtui.services.scoring import baseline_name, observed_as_run, scored_run, tallied_run
from modtui.services.stability import run_stability
from modtui.store import runs as q
from modtui.store.records import RunRecord
from modtui.workspace import Workspace

ITEM_SETS = ("all", "failing", "guard")


@dataclass
class ReplaySpec:
    incident_id: str
    prompts: Sequence[str] = ()
    targets: Sequence[str] = ()
    items: str = "all"
    concurrency: int | None = None
    use_cache: bool = True
    baseline: str = "production"
    author: str = "unknown"
    repeats: int = 1  # calls per item per run; repeats 2..N bypass the cache
    max_cost: float | None = None  # USD: no new call once spent + in-flight estimates would pass it
    head_start: bool = False  # `plan` may start deciding a local target's items while it checks them (see execute)


@dataclass
class RunReport:
    run: RunRecord
    prompt_label: str
    metrics: RunMetrics
    baseline_run_id: int | None = None
    flips: FlipReport | None = None
    sweep: Sweep | None = None
    stability: Stability | None = None
    answered: q.AnsweredBy | None = None  # which models the provider says answered this run and its baseline
    baseline_answered: q.AnsweredBy | None = None

    def as_dict(self) -> dict[str, Any]:
        m = self.metrics.to_dict()
        if self.stability:  # the run's cost is of every call, repeats included
            m["cost_usd"] = self.stability.cost_usd
        flips = self.flips.to_dict() if self.flips else None
        return {
            "run_id": self.run.id,
            "target": self.run.target_name,
            "prompt": self.prompt_label,
            "prompt_version": self.run.prompt_version,
            "status": self.run.status,
            "baseline_run_id": self.baseline_run_id,
            **m,
            "flips": {"fixed": flips["fixed"], "regressed": flips["regressed"], "transitions": flips["transitions"]}
            if flips
            else {"fixed": [], "regressed": []},
            "mcnemar_p": flips["mcnemar_p"] if flips else None,
            "best_threshold": self.sweep.best.to_dict() if self.sweep and self.sweep.best else None,
            "error": self.run.error,
            **({"stability": self.stability.to_dict()} if self.stability else {}),
        }


@dataclass
class ReplayReport:
    incident_id: str
    positive: str
    runs: list[RunReport] = field(default_factory=list)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "positive_label": self.positive,
            "interrupted": self.interrupted,
            "runs": [r.as_dict() for r in self.runs],
        }


@dataclass
class ReplayPlan:
    loaded: LoadedIncident
    prompts: list[LoadedPrompt]
    targets: list[Target]
    items: list[Item]
    jobs: list[Job]
    baseline_version: str
    repeat_jobs: list[Job] = field(default_factory=list)  # repeats 2..N of `jobs` (`--repeat N`)
    # the log's items of the incident are `loaded.items` as planned (synced by `plan`): a report of all of them may
    # count the runs' results in the log (store.tally) instead of reading each back
    gold_in_log: bool = False
    head_start: HeadStart | None = None  # the local target's slices decided while planning: `execute` owns it


def select_items(items: Sequence[Item], which: str) -> list[Item]:
    if which == "failing":
        return [i for i in items if i.kind in FAILING_KINDS]
    if which == "guard":
        return [i for i in items if i.kind is ItemKind.GUARD]
    return list(items)


def is_run_id(text: str) -> bool:
    """ASCII digits only: str.isdigit() would also take '٣' as run 3."""
    return text.isascii() and text.isdigit()


def plan(ws: Workspace, spec: ReplaySpec) -> ReplayPlan:
    """Resolve prompts, targets and items; create or resume one run per target × prompt. With `spec.head_start`, a
    fresh incident's items may start being decided meanwhile (services.head_start): the plan must then go to
    `execute`, which stops the workers whatever happens; a plan that fails stops them here."""
    ahead: list[HeadStart] = []

    def head_start(files: IncidentFiles) -> None:
        from modtui.services import head_start as hs

        started = hs.start(ws, spec.targets, spec.items, files)
        if started is not None:
            ahead.append(started)

    try:
        loaded, production, prompts, targets, items = _resolve(ws, spec, head_start if spec.head_start else None)
        jobs = start_jobs(ws, loaded, prompts, unique_targets(targets), items, spec)
        _set_budgets(ws, jobs, spec)  # before repeat_jobs, which share each run's budgets
        return ReplayPlan(
            loaded,
            prompts,
            targets,
            items,
            jobs,
            production.version,
            repeat_jobs(ws, jobs, items, spec),
            gold_in_log=True,
            head_start=ahead[0] if ahead else None,
        )
    except BaseException:
        for started in ahead:
            started.close()
        raise


def _resolve(
    ws: Workspace, spec: ReplaySpec, before_check: Callable[[IncidentFiles], None] | None = None
) -> tuple[LoadedIncident, LoadedPrompt, list[LoadedPrompt], list[Target], list[Item]]:
    """The incident, production's prompt, every prompt, the targets and the items a replay is of (checked)."""
    if spec.items not in ITEM_SETS:
        raise UsageError(Problem("--items", f"'{spec.items}' is not one of {', '.join(ITEM_SETS)}"))
    if spec.repeats < 1:
        raise UsageError(Problem("--repeat", f"{spec.repeats} is not a number of calls (1 or more)"))
    if spec.max_cost is not None and not (spec.max_cost > 0 and math.isfinite(spec.max_cost)):
        raise UsageError(Problem("--max-cost", f"{spec.max_cost} is not a finite amount above 0 (USD)"))
    if spec.baseline not in ("production", "observed") and not is_run_id(spec.baseline):
        raise UsageError(Problem("--baseline", f"'{spec.baseline}' is not 'production', 'observed' or a run id"))
    loaded = (
        golden.load_and_sync_golden(ws, spec.incident_id)
        if golden.is_golden(spec.incident_id)
        else load_and_sync(ws, spec.incident_id, before_check)
    )
    if is_run_id(spec.baseline):
        with ws.store().connect() as conn:
            base = q.get_run(conn, int(spec.baseline))
            if base is None:
                raise UsageError(Problem("--baseline", f"no run {spec.baseline}"))
            if base.incident_id != loaded.id:  # its items would not pair with these
                raise UsageError(
                    Problem("--baseline", f"run {spec.baseline} is on {base.incident_id}, not {loaded.id}")
                )
    production = ws.load_prompt(loaded.incident.production.prompt)
    prompts = unique_prompts([production] + [ws.load_prompt(p) for p in spec.prompts])
    targets = [ws.target(t) for t in spec.targets] or [ws.production_target(loaded.incident.production.model)]
    items = select_items(loaded.items, spec.items)
    if not items:
        which = "items" if spec.items == "all" else f"{spec.items} items (--items {spec.items})"
        raise UsageError(Problem(spec.incident_id, f"no {which} to replay"))
    return loaded, production, prompts, targets, items


def _set_budgets(ws: Workspace, jobs: list[Job], spec: ReplaySpec) -> None:
    """`--max-cost` caps the whole replay, a target's `max_cost_per_run` each of its runs (replay.budget)."""
    from modtui.replay.budget import Budget

    shared = Budget(spec.max_cost) if spec.max_cost is not None else None
    if shared is None and not any(j.target.max_cost_per_run for j in jobs):
        return
    from modtui.services.forecast import call_estimator, histories  # with a cap only: the token history's queries

    known = histories(ws, [(j.target, j.prompt) for j in jobs])
    for job in jobs:
        own = Budget(job.target.max_cost_per_run) if job.target.max_cost_per_run else None
        job.budgets = tuple(b for b in (shared, own) if b is not None)
        job.estimate = call_estimator(job.target, known.get((job.target.name, job.prompt.version)))


@dataclass
class PlannedRun:
    """What a replay would do for one target × prompt (`--dry-run`): nothing is written or called."""

    target: Target
    prompt: LoadedPrompt
    items: int
    recorded: int  # items a resumable run already has
    cached: int  # items the response cache would answer
    to_call: list[Messages]  # the rendered prompts of the items that need a call
    repeat_calls: int  # calls of repeats 2..N


def read_only_plan(ws: Workspace, spec: ReplaySpec) -> list[PlannedRun]:
    """`plan` without creating or resuming runs: per target × prompt, what is recorded, cached and left to call."""
    from modtui.providers.registry import provider_class
    from modtui.replay.requests import keyed_requests
    from modtui.store import repeats as rq

    loaded, _, prompts, targets, items = _resolve(ws, spec)
    contexts = {
        p.version: precedent.prompt_context(
            ws, p, loaded.incident.policy, lambda item: golden.source_incident(loaded, item)
        )
        for p in prompts
    }
    out = []
    with ws.store().connect() as conn:
        for target in unique_targets(targets):
            provider = provider_class(target.provider)
            cacheable = spec.use_cache and provider.cacheable
            # a deterministic target's unchanged re-run is copied from the log (a cacheable one's copy is of what
            # its response cache holds, which the lookup below counts)
            digest = items_digest(target, items) if provider.deterministic_version is not None else None
            for prompt in prompts:
                inputs = (loaded.id, target.config_key(), prompt.version, spec.items)
                run = q.find_resumable(conn, *inputs)
                done = q.done_item_ids(conn, run.id) if run is not None and run.id is not None else set()
                todo = [i for i in items if i.id not in done]
                copied = _log_source(conn, inputs, digest, spec, done) is not None
                requests = keyed_requests(target, prompt.template, todo, contexts[prompt.version])
                hits = set(q.cached(conn, [key for key, _, _ in requests])) if cacheable else set()
                by_key = {key: item.id for key, item, _ in requests}  # as the engine serves: one item per key
                served = {item.id for item in todo} if copied else {i for k, i in by_key.items() if k in hits}
                repeated = sum(
                    len(items) - len(rq.done_repeat_ids(conn, run.id, r))
                    if run is not None and run.id is not None
                    else len(items)
                    for r in range(2, spec.repeats + 1)
                )
                out.append(
                    PlannedRun(
                        target,
                        prompt,
                        len(items),
                        len(done),
                        len(served),
                        [messages for _, item, messages in requests if item.id not in served],
                        repeated,
                    )
                )
    return out


def unique_prompts(prompts: list[LoadedPrompt]) -> list[LoadedPrompt]:
    """Each prompt version once, in first-seen order."""
    seen: dict[str, LoadedPrompt] = {}
    for prompt in prompts:
        seen.setdefault(prompt.version, prompt)
    return list(seen.values())


def unique_targets(targets: list[Target]) -> list[Target]:
    """Each target (by name) once, in first-seen order."""
    return list({t.name: t for t in targets}.values())


def check_keys(ws: Workspace, targets: Sequence[Target]) -> None:
    """A target naming a key variable that is not set is refused before any run starts or any call is made: called
    anyway, every call would fail (or use whatever key the SDK finds) and the run would look finished."""
    shown = ws.relative(ws.config.path) if ws.config.path else CONFIG_FILE
    problems = [
        Problem(
            shown,
            f"target '{t.name}': ${t.api_key_env} is not set (targets.{t.name}.api_key_env); "
            f"export it, or remove api_key_env for a server that needs no key",
        )
        for t in targets
        if t.api_key_env and not key_for(t)
    ]
    if problems:
        raise ConfigError(problems)


def start_jobs(
    ws: Workspace,
    loaded: LoadedIncident,
    prompts: list[LoadedPrompt],
    targets: list[Target],
    items: list[Item],
    spec: ReplaySpec,
    sources: dict[str, str] | None = None,
) -> list[Job]:
    """One engine job per target × prompt: a new run, or the resumable one continued, with the items it still lacks
    (those an unchanged earlier run answered are copied from the log first). `sources` maps a prompt held in memory
    (the TUI's unsaved candidate) by its path to its YAML text."""
    check_keys(ws, targets)
    jobs = []
    contexts = {
        p.version: precedent.prompt_context(
            ws, p, loaded.incident.policy, lambda item: golden.source_incident(loaded, item)
        )
        for p in prompts
    }
    digests = {  # a prompt with extra values per item (precedents from the log) renders differently later
        (t.name, p.version): items_digest(t, items) if contexts[p.version] is None else None
        for t in targets
        for p in prompts
    }
    with ws.store().transaction() as conn:
        for prompt in prompts:
            q.ensure_prompt_version(conn, prompt, (sources or {}).get(prompt.path) or ws.prompt_source(prompt))
        for target in targets:
            key = q.ensure_target(conn, target)
            for prompt in prompts:
                run = q.find_resumable(conn, loaded.id, key, prompt.version, spec.items)
                if run is None:
                    run = q.start_run(
                        conn,
                        incident_id=loaded.id,
                        target_key=key,
                        target_name=target.name,
                        prompt_version=prompt.version,
                        prompt_path=prompt.path,
                        item_set=spec.items,
                        author=spec.author,
                        items_total=len(items),
                    )
                else:
                    run = q.resume_run(conn, run.id, len(items))
                done = q.done_item_ids(conn, run.id)
                served = _served_from_log(conn, run, target, digests[target.name, prompt.version], spec, done)
                if served:
                    done = q.done_item_ids(conn, run.id)
                todo = [i for i in items if i.id not in done]
                progress = RunProgress(
                    run.id, target.name, prompt.label, len(items), done=len(items) - len(todo), cached=served
                )
                jobs.append(Job(run.id, target, prompt, todo, progress, context=contexts[prompt.version]))
    return jobs


def items_digest(target: Target, items: Sequence[Item]) -> str | None:
    """What a run's results depend on besides the prompt version and the target's configuration, when an unchanged
    re-run can be served from the log (None when it cannot): for a deterministic target, its classifier's version
    and the items' ids and contents, in order; for a target whose replies the response cache keeps, the engine's
    RESULTS_VERSION and the items' ids, contents and metadata (what a prompt is rendered from), in order."""
    from modtui.providers.registry import provider_class

    provider = provider_class(target.provider)
    version = provider.deterministic_version
    if version is None and not provider.cacheable:
        return None
    head = f"{target.provider}:{version}\n" if version is not None else f"cache:{RESULTS_VERSION}\n"
    digest = hashlib.sha256(head.encode())
    parts: list[str] = []
    for n, item in enumerate(items, start=1):
        parts.append(f"{len(item.id)}:{item.id}{len(item.content)}:{item.content}")
        if version is None:
            meta = json.dumps(item.meta, sort_keys=True, ensure_ascii=False, default=str)
            parts.append(f"{len(meta)}:{meta}")
        if n % 2048 == 0 or n == len(items):
            # one update per 2,048 items is the digest of the updates part by part, in a fraction of the calls,
            # and holds no copy of every content at once
            digest.update("".join(parts).encode("utf-8", "surrogatepass"))
            parts.clear()
    return digest.hexdigest()


def _served_from_log(
    conn: Any, run: RunRecord, target: Target, digest: str | None, spec: ReplaySpec, done: set[str]
) -> int:
    """An unchanged re-run: the results of the last completed run with the same inputs are copied into this run
    inside the log (one INSERT … SELECT), instead of classifying, or rendering and looking up, every item again.
    A call-making target copies only the results whose reply the response cache holds (the rest go the usual way:
    the cache, then a call). Not with --no-cache or --repeat (they ask for fresh verdicts). Returns how many were
    copied (0: every item goes the usual way)."""
    if digest is None:
        return 0
    q.set_items_digest(conn, run.id, digest)
    inputs = (run.incident_id, run.target_key, run.prompt_version, run.item_set)
    source = _log_source(conn, inputs, digest, spec, done)
    if source is None or source == run.id:
        return 0
    from modtui.providers.registry import provider_class

    return q.copy_results(conn, source, run.id, only_cached=provider_class(target.provider).cacheable)


def _log_source(
    conn: Any, inputs: tuple[str, str, str, str], digest: str | None, spec: ReplaySpec, done: set[str]
) -> int | None:
    """The completed run with the same inputs (incident, target key, prompt version, item set) whose results an
    unchanged re-run copies; None when there is none, or when this replay asks for fresh verdicts."""
    if digest is None or done or not spec.use_cache or spec.repeats > 1:
        return None
    return q.reusable_run(conn, *inputs, digest)


def repeat_jobs(ws: Workspace, jobs: list[Job], items: list[Item], spec: ReplaySpec) -> list[Job]:
    """Jobs for repeats 2..N of each run (what each still lacks); its progress counts every repeat."""
    from modtui.store import repeats as rq

    if spec.repeats <= 1:
        return []
    out = []
    with ws.store().transaction() as conn:
        for job in jobs:
            rq.set_repeats(conn, job.run_id, spec.repeats)
            job.progress.total = len(items) * spec.repeats
            for repeat in range(2, spec.repeats + 1):
                done = rq.done_repeat_ids(conn, job.run_id, repeat)
                todo = [i for i in items if i.id not in done]
                job.progress.done += len(items) - len(todo)
                out.append(
                    Job(
                        job.run_id,
                        job.target,
                        job.prompt,
                        todo,
                        job.progress,
                        context=job.context,
                        repeat=repeat,
                        budgets=job.budgets,
                        estimate=job.estimate,
                    )
                )
    return out


async def execute(
    ws: Workspace, replay: ReplayPlan, spec: ReplaySpec, on_progress: Callable[[RunProgress], None] | None = None
) -> ReplayReport:
    """Run the plan; whatever happens (including cancellation) every run ends with a status and a summary."""
    try:
        engine = Engine(
            ws.store(),
            Scrubber.for_targets(ws.config.targets.values()),
            use_cache=spec.use_cache,
            concurrency=spec.concurrency,
            on_progress=on_progress,
            head_start=replay.head_start,
        )
        await engine.execute(replay.jobs + replay.repeat_jobs)
    except asyncio.CancelledError:
        finish(ws, replay, spec, interrupted=True)
        raise
    except StoreError as exc:  # the log refuses writes (a full disk, a read-only file): what it holds is kept
        try:
            finish(ws, replay, spec, interrupted=True)
        except StoreError:
            pass  # it refuses this too: the runs stay `running`, which resumes the same way
        raise StoreError(
            f"{exc}\nthe replay stopped; every result committed before it is kept, and the same "
            "command resumes the runs once the log can be written"
        ) from None
    finally:
        if replay.head_start is not None:
            replay.head_start.close()
    return finish(ws, replay, spec, interrupted=False)


def finish(ws: Workspace, replay: ReplayPlan, spec: ReplaySpec, interrupted: bool) -> ReplayReport:
    """Give every run its final status and summary; the report, with the runs as now stored."""
    rep = report(ws, replay, spec)
    for run_report, job in zip(rep.runs, replay.jobs):
        m = run_report.metrics
        repeated = run_report.stability
        incomplete = m.items < len(replay.items) or (repeated is not None and repeated.items < len(replay.items))
        status = (
            RunStatus.FAILED
            if job.dead
            else RunStatus.INTERRUPTED
            if interrupted and incomplete
            else RunStatus.STOPPED_BUDGET
            if job.stopped_budget and incomplete
            else RunStatus.INTERRUPTED
            if incomplete
            else RunStatus.COMPLETED
        )
        job.progress.status = status
        headline = _headline(run_report, status)
        summary = {
            **m.to_dict(),
            "fixed": len(run_report.flips.fixed) if run_report.flips else None,
            "regressed": len(run_report.flips.regressed) if run_report.flips else None,
            "mcnemar_p": run_report.flips.mcnemar_p if run_report.flips else None,
            "baseline_run_id": run_report.baseline_run_id,
            "baseline": baseline_name(run_report.baseline_run_id) if run_report.flips else None,
            **(
                {"cost_usd": run_report.stability.cost_usd, "stability": run_report.stability.to_dict(limit=20)}
                if run_report.stability
                else {}
            ),
        }
        q.finish_run(ws.store(), job.run_id, status, summary, job.dead, spec.author, headline)
    with ws.store().connect() as conn:
        for run_report in rep.runs:
            run_report.run = q.get_run(conn, run_report.run.id) or run_report.run
    rep.interrupted = interrupted and any(r.run.status is RunStatus.INTERRUPTED for r in rep.runs)
    return rep


def model_warnings(rep: ReplayReport) -> list[str]:
    """One warning per run whose baseline run was answered by different model ids (services.runs.model_change)."""
    from modtui.services.runs import model_change

    changes = (model_change(r.baseline_answered, r.answered, r.baseline_run_id, r.run.id) for r in rep.runs)
    return [change for change in changes if change]


def _headline(r: RunReport, status: RunStatus) -> str:
    m = r.metrics
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    text = (
        f"run {r.run.id} {status}: {r.run.target_name} × {r.prompt_label} on {m.items} items · "
        f"P {fmt(m.precision)} R {fmt(m.recall)} F1 {fmt(m.f1)}"
    )
    if r.flips:
        text += f" · fixed {len(r.flips.fixed)} regressed {len(r.flips.regressed)}"
    return text + (f" · {m.no_verdict} without verdict" if m.no_verdict else "")


def report(ws: Workspace, replay: ReplayPlan, spec: ReplaySpec) -> ReplayReport:
    """Each run's metrics, sweep, flips and stability, from the log. A run whose report pairs no item with another
    run's (no baseline, nobody's baseline) is counted in the log (services.scoring.tallied_run) when the log's items
    are the plan's; the others are read back result by result and scored here. Both give the same report."""
    positive = replay.loaded.incident.positive_label
    expected = {i.id: i.expected for i in replay.items}
    out = ReplayReport(replay.loaded.id, positive)
    with ws.store().connect() as conn:
        runs = {job.run_id: _stored_run(conn, job.run_id) for job in replay.jobs}
        fixed_baseline = _fixed_baseline(conn, spec.baseline, expected, replay.items)
        per_item = _scored_per_item(replay, fixed_baseline is not None)
        scored_runs = {job.run_id: scored_run(conn, job.run_id, expected) for job in replay.jobs if per_item(job)}
        tallied = {
            job.run_id: tallied_run(conn, replay.loaded.id, job.run_id, positive)
            for job in replay.jobs
            if not per_item(job)
        }
        stabilities = {
            job.run_id: run_stability(
                conn,
                job.run_id,
                runs[job.run_id].repeats,
                expected,
                positive,
                tallied[job.run_id].first_cost
                if job.run_id in tallied
                else sum(i.cost_usd or 0.0 for i in scored_runs[job.run_id]),
            )
            for job in replay.jobs
        }
        fixed_id = [fixed_baseline[0]] if fixed_baseline and fixed_baseline[0] is not None else []
        answered = q.answered_by(conn, [job.run_id for job in replay.jobs] + fixed_id)
    for job in replay.jobs:
        if job.run_id in tallied:
            base_id, flips, metrics, swept = None, None, tallied[job.run_id].metrics, tallied[job.run_id].sweep
        else:
            items = scored_runs[job.run_id]
            base_id, base_items = _baseline_for(job, replay, scored_runs, fixed_baseline)
            flips = compare(base_items, items, positive) if base_items is not None else None
            metrics, swept = run_metrics(items, positive), sweep(items, positive)
        out.runs.append(
            RunReport(
                runs[job.run_id],
                job.prompt.label,
                metrics,
                base_id,
                flips,
                swept,
                stabilities.get(job.run_id),
                answered[job.run_id],
                answered.get(base_id) if base_id is not None else None,
            )
        )
    return out


def _scored_per_item(replay: ReplayPlan, fixed_baseline: bool) -> Callable[[Job], bool]:
    """Whether a job's run must be read back result by result for its report: its results are paired with a
    baseline's (flips), or the log's items are not exactly the plan's (a subset, relabelled gold labels)."""
    whole = (
        replay.gold_in_log
        and len(replay.items) == len(replay.loaded.items)
        and all(map(operator.is_, replay.items, replay.loaded.items))
    )
    if not whole or fixed_baseline:
        return lambda job: True
    paired = {job.run_id for job in replay.jobs if (base := _base_job(job, replay)) is not None}
    paired |= {base.run_id for job in replay.jobs if (base := _base_job(job, replay)) is not None}
    return lambda job: job.run_id in paired


def _stored_run(conn: Any, run_id: int) -> RunRecord:
    run = q.get_run(conn, run_id)
    if run is None:  # runs are never deleted: the plan created it
        raise UsageError(Problem("run", f"no run {run_id}"))
    return run


def _fixed_baseline(
    conn: Any, baseline: str, expected: dict[str, str], items: list[Item]
) -> tuple[int | None, list[ScoredItem]] | None:
    if baseline == "production":
        return None
    if baseline == "observed":
        return None, observed_as_run(items)
    if not is_run_id(baseline) or q.get_run(conn, int(baseline)) is None:
        raise UsageError(Problem("--baseline", f"'{baseline}' is not 'production', 'observed' or an existing run id"))
    return int(baseline), scored_run(conn, int(baseline), expected)


def _baseline_for(
    job: Job,
    replay: ReplayPlan,
    scored_runs: dict[int, list[ScoredItem]],
    fixed: tuple[int | None, list[ScoredItem]] | None,
) -> tuple[int | None, list[ScoredItem] | None]:
    if fixed is not None:
        return fixed
    base = _base_job(job, replay)
    return (base.run_id, scored_runs[base.run_id]) if base else (None, None)


def _base_job(job: Job, replay: ReplayPlan) -> Job | None:
    """The job of production's prompt on the same target, which a candidate prompt's run is compared with."""
    if job.prompt.version == replay.baseline_version:
        return None
    return next(
        (j for j in replay.jobs if j.target.name == job.target.name and j.prompt.version == replay.baseline_version),
        None,
    )


def item_lines(ws: Workspace, rep: ReplayReport, items: Sequence[Item]) -> list[dict[str, Any]]:
    """One row per item result of every run in the report (the `--format jsonl` contract)."""
    expected = {i.id: i.expected for i in items}
    rows = []
    with ws.store().connect() as conn:
        for run_report in rep.runs:
            run = run_report.run
            for r in q.results_of(conn, run.id):
                if r.item_id not in expected:
                    continue
                rows.append(
                    {
                        "run_id": run.id,
                        "item_id": r.item_id,
                        "target": run.target_name,
                        "prompt_version": run.prompt_version,
                        "expected": expected[r.item_id],
                        "verdict": r.verdict,
                        "label": r.label,
                        "confidence": r.confidence,
                        "error_type": r.error_type,
                        "cached": r.cached,
                    }
                )
    return rows
