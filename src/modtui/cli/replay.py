"""`modtui replay INC`: replay items × prompts × targets, print metrics and flips, apply CI gates."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from modtui.analysis.intervals import with_interval
from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.numbers import RATIO
from modtui.cli.output import clip, echo_json, echo_jsonl, emit, format_option, inert, note, p_value, say
from modtui.cli.progress import ProgressPrinter
from modtui.collector import collector_spared, paused
from modtui.domain.run import RunStatus

if TYPE_CHECKING:
    from modtui.services.replay import ReplayPlan, ReplayReport, ReplaySpec, RunReport

labels_svc = lazy("modtui.services.labels")
svc = lazy("modtui.services.replay")
prompt_render = lazy("modtui.prompts.render")
ITEM_SETS = ("all", "failing", "guard")  # the services' constants, as literals: --help imports no services
LABEL_SETS = ("original", "corrected")

pass_app = click.make_pass_decorator(AppContext)


SUMMARY_COLUMNS = (
    "run_id",
    "target",
    "prompt",
    "prompt_version",
    "status",
    "items",
    "tp",
    "fp",
    "fn",
    "tn",
    "no_verdict",
    "precision",
    "recall",
    "f1",
    "fixed",
    "regressed",
    "mcnemar_p",
    "cost_usd",
    "p50_ms",
    "p95_ms",
)


@click.command("replay")
@click.argument("incident_id", required=False)
@click.option("--golden", metavar="NAME", help="Replay the golden set goldens/NAME.jsonl instead of an incident.")
@click.option("-p", "--prompt", "prompts", multiple=True, help="Prompt to replay besides production (repeatable).")
@click.option(
    "-m", "--target", "targets", multiple=True, help="Target from modtui.toml (repeatable; default: production's)."
)
@click.option("--items", type=click.Choice(ITEM_SETS), default="all", show_default=True, help="Which items.")
@click.option(
    "-j", "--concurrency", type=click.IntRange(1, 1024), help="Concurrent calls per target (default: the target's)."
)
@click.option("--no-cache", is_flag=True, help="Call the provider even when a stored reply exists.")
@format_option(("table", "json", "jsonl", "csv"))
@click.option("--min-recall", type=RATIO, help="Gate: exit 1 when a candidate's recall is below this.")
@click.option("--min-precision", type=RATIO, help="Gate: exit 1 when a candidate's precision is below this.")
@click.option(
    "--min-accuracy",
    type=RATIO,
    help="Gate: exit 1 when a candidate's accuracy is below this (1 = every item right: the gate for a golden set).",
)
@click.option("--fail-on-regression", is_flag=True, help="Gate: exit 1 when a candidate regresses any item.")
@click.option(
    "--baseline",
    default="production",
    show_default=True,
    help="Flips against: 'production' (its run in this replay), 'observed' (production's recorded verdicts) or a RUN id.",
)
@click.option("--author", help="Who ran it (default: $MODTUI_AUTHOR or your OS user).")
@click.option(
    "--labels",
    type=click.Choice(LABEL_SETS),
    default="original",
    show_default=True,
    help="Gold labels for metrics and gates: the incident's, or with label_error findings' corrections.",
)
@click.option(
    "--repeat",
    "repeats",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Call every item N times per target × prompt (repeats 2..N bypass the cache) and report how "
    "stable the verdicts are.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the calls, tokens and cost (live and batch) each target × prompt "
    "would take after what is recorded and cached, and exit 0 without "
    "calling anything.",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(0, min_open=True),
    metavar="USD",
    help="Stop scheduling calls once spent + in-flight estimates would pass this; runs end stopped_budget "
    "(kept, resumable) and the command exits 1.",
)
@click.option(
    "--batch",
    is_flag=True,
    help="Submit the calls through the provider's Batch API (discounted, answered "
    "within 24 h) and return at once; `modtui runs poll` collects the results.",
)
@pass_app
def replay(
    app: AppContext,
    incident_id: str,
    prompts: tuple[str, ...],
    targets: tuple[str, ...],
    items: str,
    concurrency: int | None,
    no_cache: bool,
    fmt: str,
    min_recall: float | None,
    min_precision: float | None,
    fail_on_regression: bool,
    baseline: str,
    author: str | None,
    labels: str,
    golden: str | None,
    batch: bool = False,
    min_accuracy: float | None = None,
    repeats: int = 1,
    dry_run: bool = False,
    max_cost: float | None = None,
) -> None:
    """Replay an incident's items (or a golden set's, with --golden NAME) against prompts and targets, and
    report what changed.

    \b
    Example:
      modtui replay INC-0042 -p hate_speech/candidate
      modtui replay INC-0042 -p hate_speech/candidate -m gpt-mini --format json --fail-on-regression
    """
    if (incident_id is None) == (golden is None):
        raise click.UsageError("give an INCIDENT_ID or --golden NAME (one of them)")
    incident_id = incident_id or f"golden:{golden}"  # a golden set replays as the pseudo-incident golden:NAME
    with paused(keep=True):  # the services load here (SQLAlchemy among them), and the workspace's configuration
        spec = svc.ReplaySpec(
            incident_id,
            prompts,
            targets,
            items,
            concurrency,
            not no_cache,
            baseline,
            app.ws.author(author),
            repeats,
            max_cost,
            head_start=not batch,  # a batch is submitted, not decided here
        )
    if dry_run:
        print_forecast(app, spec, fmt)
        return
    if batch and repeats > 1:
        raise click.UsageError("--repeat calls each item again at once; it cannot go through --batch")
    if batch and (
        min_recall is not None or min_precision is not None or min_accuracy is not None or fail_on_regression
    ):
        raise click.UsageError("gates need results: with --batch, apply them when `modtui runs poll` has them")
    with ctrl_c_on_sigterm() as signals, collector_spared() as planned:
        try:
            plan = svc.plan(app.ws, spec)
        except KeyboardInterrupt:  # before any call: runs it created are resumable, nothing else to keep
            note("interrupted before any call was made; run the same command again to start")
            raise SystemExit(128 + signals.last) from None
        planned()
        if batch:
            submit_batch(app, plan, spec, fmt)
            return
        printer = ProgressPrinter()
        try:
            from modtui.replay import eventloop

            rep = eventloop.run(svc.execute(app.ws, plan, spec, printer))
        except KeyboardInterrupt:
            printer.close()
            _interrupted(app, plan, spec, labels, fmt)
            raise SystemExit(128 + signals.last) from None
    printer.close()
    rep, plan, gold = _relabelled(app, plan, spec, rep, labels)
    stopped = list(dict.fromkeys(job.dead for job in plan.jobs if job.dead))  # one message per target
    for reason in stopped:
        note(f"error: {inert(reason)}")
    print_outcomes(rep, plan.items)
    _print(app, rep, plan.items, fmt, gold)
    failures = gate_failures(rep, min_recall, min_precision, fail_on_regression, min_accuracy)
    for failure in failures:
        note(f"gate failed: {failure}")
    budget_stopped = [r.run.id for r in rep.runs if r.run.status is RunStatus.STOPPED_BUDGET]
    if budget_stopped:
        note(
            f"stopped at the cost cap: run(s) {', '.join(map(str, budget_stopped))} kept and resumable; run the same "
            f"command again (with a higher --max-cost) to go on"
        )
    if stopped:  # a missing or rejected key is bad configuration: never let a pipeline pass on a partial replay
        raise SystemExit(2)
    if failures or budget_stopped:  # a partial replay must not pass a pipeline either
        raise SystemExit(1)


def print_forecast(app: AppContext, spec: ReplaySpec, fmt: str) -> None:
    """`--dry-run`: what the replay would call and cost; nothing is written or called."""
    from modtui.services.forecast import dry_run

    data = dry_run(app.ws, spec)
    if fmt in ("json", "jsonl"):
        echo_json(data) if fmt == "json" else echo_jsonl(data["runs"])
        return
    emit(
        [
            r | {"cost_usd": f"{r['cost_usd']:.4f}", "batch_cost_usd": f"{r['batch_cost_usd']:.4f}"}
            for r in data["runs"]
        ],
        "csv" if fmt == "csv" else "table",
        (
            "target",
            "prompt",
            "items",
            "recorded",
            "cached",
            "calls",
            "tokens_in",
            "tokens_out",
            "tokens_from",
            "cost_usd",
            "batch_cost_usd",
        ),
    )
    note(
        f"dry run: {data['calls']} calls, ${data['cost_usd']:.4f} live or ${data['batch_cost_usd']:.4f} through a "
        f"Batch API; nothing was called ('tokens_from estimate': {CHARS_PER_TOKEN_NOTE})"
    )


CHARS_PER_TOKEN_NOTE = "4 characters a token in, 80 tokens out, see docs/volume.md"


class _Signals:
    last: int = signal.SIGINT


@contextmanager
def ctrl_c_on_sigterm() -> Iterator[_Signals]:
    """SIGTERM (a CI job cancelled, a closed session, `kill`) is handled as Ctrl-C: the replay stops, keeps what
    finished and marks the runs interrupted. `last` is the signal that came, for the exit code (130 or 143)."""
    signals = _Signals()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield signals
        return

    def as_ctrl_c(signum: int, frame: FrameType | None) -> None:
        signals.last = signum
        handler = signal.getsignal(signal.SIGINT)  # asyncio.run's own while a replay runs: it cancels the replay
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, as_ctrl_c)
    try:
        yield signals
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(app: AppContext, plan: ReplayPlan, spec: ReplaySpec, labels: str, fmt: str) -> None:
    """After Ctrl-C or SIGTERM: what finished, as the format asked, and how to go on."""
    rep = svc.report(app.ws, plan, spec)
    rep.interrupted = any(r.run.status is not RunStatus.COMPLETED for r in rep.runs)
    rep, plan, gold = _relabelled(app, plan, spec, rep, labels)
    if rep.interrupted:
        note("interrupted: finished results are kept; run the same command again to resume")
    else:
        note("interrupted after the last result: every run is complete")
    print_outcomes(rep, plan.items)
    _print(app, rep, plan.items, fmt, gold)


def _relabelled(
    app: AppContext, plan: ReplayPlan, spec: ReplaySpec, rep: ReplayReport, labels: str
) -> tuple[ReplayReport, ReplayPlan, dict]:
    """With --labels corrected: the report scored on the corrected gold labels (the runs are the same).

    Also the JSON keys added with --labels corrected: {"labels", "corrections"}."""
    if labels == "original":
        return rep, plan, {}
    scored_plan, corrections = labels_svc.relabelled(app.ws, plan, labels)
    rescored = svc.report(app.ws, scored_plan, spec) if corrections else rep
    rescored.interrupted = rep.interrupted
    note(f"labels: corrected ({len(corrections)} item(s) relabelled by label_error findings)")
    return rescored, scored_plan, {"labels": labels, "corrections": labels_svc.corrections_dict(corrections)}


def _print(app: AppContext, rep: ReplayReport, items, fmt: str, gold: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    if fmt == "json":
        echo_json({**rep.as_dict(), **(gold or {})})
    elif fmt == "jsonl":
        echo_jsonl(svc.item_lines(app.ws, rep, items))
    else:
        emit([summary_row(r, fmt != "csv") for r in rep.runs], "csv" if fmt == "csv" else "table", SUMMARY_COLUMNS)
        if fmt == "table":
            print_flips(rep, {i.id: i.content for i in items})
            print_stability(rep)


def submit_batch(app: AppContext, plan: ReplayPlan, spec: ReplaySpec, fmt: str) -> None:
    """`replay --batch`: submit, say what is waiting where, exit (2 when a target could not be submitted)."""
    from modtui.services import batch as batch_svc

    import asyncio

    sub = asyncio.run(batch_svc.submit(app.ws, plan, spec))
    for reason in sub.failed:
        note(f"error: {inert(reason)}")
    if fmt == "json":
        echo_json(sub.as_dict())
    else:
        emit(
            [b.as_dict() | {"runs": ", ".join(map(str, b.run_ids))} for b in sub.batches],
            "csv" if fmt == "csv" else "table",
            ("batch", "target", "provider_batch_id", "requests", "runs", "status"),
        )
        if sub.finished:
            note("finished at once (nothing left to call, or the target could not be submitted):")
            emit(
                [summary_row(r, fmt != "csv") for r in sub.finished.runs],
                "csv" if fmt == "csv" else "table",
                SUMMARY_COLUMNS,
            )
    if sub.batches:
        note(
            f"submitted {sum(b.requests for b in sub.batches)} calls in {len(sub.batches)} batch(es); "
            f"collect the results with: modtui runs poll"
        )
    if sub.failed:
        raise SystemExit(2)


def print_outcomes(rep: ReplayReport, items) -> None:  # type: ignore[no-untyped-def]
    """On stderr: the items whose content was cut for the prompt (each such result's detail says so too), then
    one line per run: its status, how many items got a verdict, and the rest counted by type."""
    limit = prompt_render.MAX_CONTENT_CHARS  # once: a lazy module's attribute costs a lookup each time
    clipped = [i.id for i in items if len(i.content) > limit]
    if clipped:
        shown = ", ".join(inert(i) for i in clipped[:5]) + (f" and {len(clipped) - 5} more" if len(clipped) > 5 else "")
        note(f"note: {len(clipped)} item(s) over {limit:,} characters cut for the prompt: {shown}")
    for r in rep.runs:
        m = r.metrics
        kinds = sorted(m.no_verdict_by_type.items(), key=lambda kv: (-kv[1], kv[0]))
        detail = ", ".join(f"{kind} {count}" for kind, count in kinds) or "none"
        note(
            f"run {r.run.id} ({inert(r.run.target_name)} × {inert(r.prompt_label)}) {r.run.status}: {m.items} results, "
            f"{m.items - m.no_verdict} verdicts; no verdict: {detail}"
        )
    for warning in svc.model_warnings(rep):
        note(f"warning: {inert(warning)}")


def summary_row(r: RunReport, table: bool = True) -> dict:
    """A run's line of the summary: for a table, P and R with their 95% intervals in the cell (`0.750 [0.53–0.89]`);
    for CSV, the numbers and each interval's bounds in columns of their own."""
    d = r.as_dict()
    rates: dict[str, Any] = {"precision": d["precision"], "recall": d["recall"], "f1": d["f1"]}
    if table:
        rates.update(
            precision=with_interval(d["precision"], d["precision_ci"]),
            recall=with_interval(d["recall"], d["recall_ci"]),
        )
    else:
        for key in ("precision", "recall", "f1"):
            low, high = d[f"{key}_ci"] or (None, None)
            rates.update({f"{key}_ci_low": low, f"{key}_ci_high": high})
    return {
        "run_id": d["run_id"],
        "target": d["target"],
        "prompt": d["prompt"],
        "prompt_version": d["prompt_version"],
        "status": d["status"],
        "items": d["items"],
        "tp": d["tp"],
        "fp": d["fp"],
        "fn": d["fn"],
        "tn": d["tn"],
        "no_verdict": d["no_verdict"],
        **rates,
        "fixed": len(d["flips"]["fixed"]) if r.flips else None,
        "regressed": len(d["flips"]["regressed"]) if r.flips else None,
        "mcnemar_p": d["mcnemar_p"],
        "cost_usd": d["cost_usd"],
        "p50_ms": d["latency_ms"]["p50"],
        "p95_ms": d["latency_ms"]["p95"],
    }


def print_flips(rep: ReplayReport, contents: dict[str, str], limit: int = 10) -> None:
    for r in rep.runs:
        if not r.flips:
            continue
        base = f"run {r.baseline_run_id}" if r.baseline_run_id else "production's recorded verdicts"
        say(
            f"\nrun {r.run.id} ({inert(r.run.target_name)} × {inert(r.prompt_label)}) vs {base}: "
            f"{len(r.flips.fixed)} fixed, {len(r.flips.regressed)} regressed, McNemar p={p_value(r.flips.mcnemar_p)}"
        )
        for title, ids in (("fixed", r.flips.fixed), ("regressed", r.flips.regressed)):
            for item_id in ids[:limit]:
                say(f"  {title:9} {inert(item_id):12} {clip(inert(contents.get(item_id, '')), 70)}")
            if len(ids) > limit:
                say(f"  {title:9} … and {len(ids) - limit} more (--format json lists all)")


def print_stability(rep: ReplayReport, limit: int = 10) -> None:
    for r in rep.runs:
        s = r.stability
        if s is None:
            continue
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        say(
            f"\nrun {r.run.id} ({inert(r.run.target_name)} × {inert(r.prompt_label)}) stability over {s.repeats} repeats of "
            f"{s.items} items: unanimous {fmt(s.unanimous)}, flip rate {fmt(s.flip_rate)}, "
            f"majority F1 {fmt(s.majority_f1)}, {len(s.unstable)} unstable"
        )
        for u in s.unstable[:limit]:
            say(f"  unstable  {inert(u.item_id):12} {' '.join(inert(v) for v in u.verdicts)}")
        if len(s.unstable) > limit:
            say(f"  unstable  … and {len(s.unstable) - limit} more (--format json lists all)")


def gate_failures(
    rep: ReplayReport,
    min_recall: float | None,
    min_precision: float | None,
    fail_on_regression: bool,
    min_accuracy: float | None = None,
) -> list[str]:
    """Gates apply to candidate runs (those with a baseline), or to every run when there is no candidate."""
    gated = [r for r in rep.runs if r.flips is not None] or rep.runs
    out = []
    for r in gated:
        name = f"run {r.run.id} ({inert(r.run.target_name)} × {inert(r.prompt_label)})"
        m = r.metrics
        if min_recall is not None and (m.recall or 0.0) < min_recall:
            out.append(f"{name}: recall {_num(m.recall)} < {min_recall}")
        if min_precision is not None and (m.precision or 0.0) < min_precision:
            out.append(f"{name}: precision {_num(m.precision)} < {min_precision}")
        if min_accuracy is not None and (m.accuracy or 0.0) < min_accuracy:
            out.append(f"{name}: accuracy {_num(m.accuracy)} < {min_accuracy}")
        if fail_on_regression and r.flips and r.flips.regressed:
            out.append(f"{name}: {len(r.flips.regressed)} regressed items ({', '.join(r.flips.regressed[:5])}…)")
    return out


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def register(group: click.Group) -> None:
    group.add_command(replay)
