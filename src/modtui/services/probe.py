"""Evasion probes: make label-preserving variants of an incident's items, replay them, count the flips.

Parents and variants live in the pseudo-incident `probe:INC` (store.probes), so they never mix with the
incident's own items or metrics; they replay through the same engine, cache and log as any replay. Each
target × prompt is one run over the parents and their variants, so a variant's label is compared with its
parent's label from the same run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.analysis.metrics import given_label
from modtui.analysis.robustness import MutationResult, Variant, mutation_results
from modtui.domain.incident import Item
from modtui.domain.prompt_name import prompt_name
from modtui.domain.run import RunStatus
from modtui.errors import ModtuiError, Problem, UsageError
from modtui.files.validate import suggest
from modtui.incidents.loader import LoadedIncident
from modtui.probes.mutations import MUTATIONS
from modtui.probes.variants import make_variants
from modtui.prompts.loader import LoadedPrompt
from modtui.replay.events import RunProgress
from modtui.services import replay as replay_svc
from modtui.services.incidents import load_and_sync
from modtui.workspace import Workspace

PREFIX = "probe:"


@dataclass
class ProbeSpec:
    incident_id: str
    mutations: Sequence[str]
    prompts: Sequence[str] = ()
    targets: Sequence[str] = ()
    items: str = "all"
    per_item: int = 1
    seed: int = 0
    concurrency: int | None = None
    use_cache: bool = True
    author: str = "unknown"

    @property
    def item_set(self) -> str:
        """What the run's items are (a rerun of the same probe resumes its run)."""
        return f"probe {self.items} {','.join(self.mutations)} x{self.per_item} seed {self.seed}"


@dataclass
class ProbeRun:
    run_id: int
    target: str
    prompt: str
    status: RunStatus
    mutations: list[MutationResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "target": self.target,
            "prompt": self.prompt,
            "status": self.status,
            "mutations": [m.to_dict() for m in self.mutations],
        }


@dataclass
class ProbeReport:
    incident_id: str
    seed: int | None = None
    per_item: int | None = None
    runs: list[ProbeRun] = field(default_factory=list)
    interrupted: bool = False
    stopped: list[str] = field(default_factory=list)  # why a target could not go on (bad key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "seed": self.seed,
            "per_item": self.per_item,
            "interrupted": self.interrupted,
            "runs": [r.as_dict() for r in self.runs],
        }


@dataclass
class ProbePlan:
    spec: ProbeSpec
    replay: replay_svc.ReplayPlan
    replay_spec: replay_svc.ReplaySpec
    variants: list[Variant]
    parents: list[Item]


def probe_id(incident_id: str) -> str:
    return PREFIX + incident_id


def check_mutations(names: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not names:
        raise UsageError(Problem("--mutations", f"name at least one of {', '.join(MUTATIONS)}"))
    for name in names:
        if name not in MUTATIONS:
            raise UsageError(
                Problem(
                    "--mutations", f"no mutation '{name}'{suggest(name, MUTATIONS)}; built in: {', '.join(MUTATIONS)}"
                )
            )
    return names


def plan(ws: Workspace, spec: ProbeSpec) -> ProbePlan:
    """Make the variants, store them in the pseudo-incident, and plan one run per target × prompt."""
    from modtui.store import probes as q

    spec.mutations = check_mutations(spec.mutations)
    if spec.per_item < 1:
        raise UsageError(Problem("--per-item", f"{spec.per_item} is not a number of variants (1 or more)"))
    if spec.items not in replay_svc.ITEM_SETS:
        raise UsageError(Problem("--items", f"'{spec.items}' is not one of {', '.join(replay_svc.ITEM_SETS)}"))
    loaded = load_and_sync(ws, spec.incident_id)
    parents = replay_svc.select_items(loaded.items, spec.items)
    if not parents:
        raise UsageError(Problem(spec.incident_id, f"no {spec.items} items to probe"))
    variants = make_variants(((p.id, p.content) for p in parents), spec.mutations, spec.per_item, spec.seed)
    if not variants:
        raise UsageError(
            Problem(
                "--mutations",
                f"{', '.join(spec.mutations)} found nothing to change in the {spec.items} items of {spec.incident_id}",
            )
        )
    items = parents + [_derived(v, parent) for v, parent in _with_parents(variants, parents)]
    pid = probe_id(loaded.id)
    q.sync_probe_incident(
        ws.store(),
        loaded.id,
        pid,
        [_item_row(i) for i in parents]
        + [
            {**_item_row(item), "parent_id": v.parent_id, "mutation": v.mutation, "seed": v.seed}
            for v, item in zip(variants, items[len(parents) :])
        ],
    )
    probe_loaded = LoadedIncident(loaded.incident.model_copy(update={"id": pid}), items, loaded.folder)
    prompts = _prompts(ws, loaded, spec)
    targets = [ws.target(t) for t in dict.fromkeys(spec.targets)] or [
        ws.production_target(loaded.incident.production.model)
    ]
    rspec = replay_svc.ReplaySpec(
        pid, (), (), spec.item_set, spec.concurrency, spec.use_cache, "production", spec.author
    )
    jobs = replay_svc.start_jobs(ws, probe_loaded, prompts, targets, items, rspec)
    # no baseline version matches: a probe run has no fixed/regressed flips of its own, only variant flips
    replay = replay_svc.ReplayPlan(probe_loaded, prompts, targets, items, jobs, baseline_version="")
    return ProbePlan(spec, replay, rspec, variants, parents)


def _prompts(ws: Workspace, loaded: LoadedIncident, spec: ProbeSpec) -> list[LoadedPrompt]:
    prompts = [ws.load_prompt(p) for p in spec.prompts] or [ws.load_prompt(loaded.incident.production.prompt)]
    return list({p.version: p for p in prompts}.values())


def _with_parents(variants: list[Variant], parents: list[Item]) -> list[tuple[Variant, Item]]:
    by_id = {p.id: p for p in parents}
    return [(v, by_id[v.parent_id]) for v in variants]


def _derived(variant: Variant, parent: Item) -> Item:
    return Item.model_construct(
        id=variant.id,
        content=variant.content,
        expected=parent.expected,
        observed=None,
        kind=parent.kind,
        meta=parent.meta,
    )


def _item_row(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "content": item.content,
        "expected": item.expected,
        "observed": item.observed,
        "kind": item.kind.value if item.kind else "eval",
        "meta_json": json.dumps(item.meta, ensure_ascii=False, default=str),
    }


async def execute(
    ws: Workspace, probe: ProbePlan, on_progress: Callable[[RunProgress], None] | None = None
) -> ProbeReport:
    """Replay the probe's runs; whatever happens, every run ends with a status and the flips are counted."""
    await replay_svc.execute(ws, probe.replay, probe.replay_spec, on_progress)
    return report(ws, probe)


def report(ws: Workspace, probe: ProbePlan, interrupted: bool = False) -> ProbeReport:
    from modtui.store import runs as rq

    out = ProbeReport(
        probe.spec.incident_id,
        probe.spec.seed,
        probe.spec.per_item,
        interrupted=interrupted,
        stopped=list(dict.fromkeys(j.dead for j in probe.replay.jobs if j.dead)),
    )
    parents = {p.id: p.content for p in probe.parents}
    for job in probe.replay.jobs:
        with ws.store().read() as session:
            run = rq.get_run(session, job.run_id)
            labels = _labels(rq.scoring_rows(session, job.run_id))
            cited = rq.cited_rules(session, job.run_id)
        rules = _cited_or_matching(cited, parent_rules(job.prompt, parents))
        out.runs.append(
            ProbeRun(
                job.run_id,
                job.target.name,
                job.prompt.label,
                run.status if run else RunStatus.RUNNING,
                mutation_results(probe.spec.mutations, probe.variants, labels, rules),
            )
        )
    return out


def record(ws: Workspace, rep: ProbeReport, author: str) -> None:
    """One line on the incident's timeline: the flip rate of each mutation of each run."""
    from modtui.store import probes as q

    parts = [
        f"{r.target} × {r.prompt} " + ", ".join(f"{m.name} {m.flipped}/{m.variants}" for m in r.mutations)
        for r in rep.runs
    ]
    q.record_probe(
        ws.store(),
        rep.incident_id,
        "probe: " + "; ".join(parts),
        author,
        {"runs": [{"run_id": r.run_id, "flip_rates": {m.name: m.flip_rate for m in r.mutations}} for r in rep.runs]},
    )


def _labels(rows: Sequence[Sequence[Any]]) -> dict[str, str | None]:
    """item id → label (None when the result is not a verdict), from store.runs.scoring_rows' tuples."""
    return {row[0]: given_label(row[1], row[2]) for row in rows}


def _cited_or_matching(cited: Mapping[str, Any], matching: dict[str, list[str]]) -> dict[str, list[str]]:
    """By parent: the rules its verdict cited in the run; for a parent whose verdict cited none, the prompt's
    rules that match its content."""
    return {**matching, **{item: list(c.rules) for item, c in cited.items() if c.rules}}


def parent_rules(prompt: LoadedPrompt, parents: dict[str, str]) -> dict[str, list[str]]:
    """The prompt's policy rules that fire on each parent's content: the rules a variant tries to slip past."""
    from modtui.policy.classify import classify

    template = prompt.template
    if template.policy is None or not template.policy.rules:
        return {}
    out = {}
    for item_id, content in parents.items():
        fired = classify(content, template.policy, template.labels, positive_label=template.positive_label).fired
        if fired:
            out[item_id] = list(fired)
    return out


def latest(ws: Workspace, incident_id: str) -> ProbeReport:
    """The newest probe run of each target × prompt on the incident, scored (for the report and the queue)."""
    from modtui.store import probes as q
    from modtui.store import runs as rq
    from modtui.store.review import latest_runs

    pid = probe_id(incident_id)
    out = ProbeReport(incident_id)
    with ws.store().read() as session:
        runs = latest_runs(session, pid)
        if not runs:
            return out
        variants = q.variants(session, pid)
        results = {run.id: _labels(rq.scoring_rows(session, run.id)) for run in runs}
        citations = {run.id: rq.cited_rules(session, run.id) for run in runs}
        contents = q.parent_contents(session, pid)
        sources = {run.prompt_version: q.prompt_source(session, run.prompt_version) for run in runs}
    for run in runs:
        labels = results[run.id]
        ran = [v for v in variants if v.id in labels]
        names = list(dict.fromkeys(v.mutation for v in ran))
        rules = _cited_or_matching(
            citations[run.id], _rules_of_version(sources[run.prompt_version], run.prompt_path, contents)
        )
        out.runs.append(
            ProbeRun(
                run.id,
                run.target_name,
                prompt_name(run.prompt_path),
                run.status,
                mutation_results(names, ran, labels, rules),
            )
        )
    return out


def _rules_of_version(source: str | None, path: str, parents: dict[str, str]) -> dict[str, list[str]]:
    """Rules from the prompt as it was when the run ran (its version's text in the log)."""
    from modtui.prompts.loader import parse_prompt

    if source is None:
        return {}
    try:
        prompt = parse_prompt(source, path)
    except ModtuiError:  # a version stored by an older modtui that this one no longer reads: no cut by rule
        return {}
    return parent_rules(prompt, parents)
