"""`modtui runs list|show|compare`."""
from __future__ import annotations

from typing import Any

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, emit, format_option, inert

svc = lazy("modtui.services.runs")
LABEL_SETS = ("original", "corrected")  # services.labels.LABEL_SETS, as a literal: --help imports no services

pass_app = click.make_pass_decorator(AppContext)


@click.group("runs")
def runs_group() -> None:
    """Inspect and compare replay runs recorded in the log."""


@runs_group.command("list")
@click.argument("incident_id", required=False)
@format_option(("table", "json", "csv"))
@pass_app
def runs_list(app: AppContext, incident_id: str | None, fmt: str) -> None:
    """Runs, newest first (optionally of one incident)."""
    rows = svc.list_runs(app.ws, incident_id)
    echo_json({"runs": rows}) if fmt == "json" else emit(rows, fmt)


def labels_option() -> Any:
    return click.option("--labels", type=click.Choice(LABEL_SETS), default="original", show_default=True,
                        help="Gold labels: the incident's, or with label_error findings' corrections.")


@runs_group.command("show")
@click.argument("run_id", type=int)
@format_option()
@labels_option()
@pass_app
def runs_show(app: AppContext, run_id: int, fmt: str, labels: str) -> None:
    """One run with its metrics."""
    view = svc.view(app.ws, run_id, labels)
    data = view.as_dict()
    if fmt == "json":
        echo_json(data)
        return
    m = data.pop("metrics")
    stability = data.pop("stability", None)
    data["corrections"] = len(data["corrections"])
    for key, value in data.items():
        click.echo(f"{key:14} {value if value is not None else '-'}")
    for key, value in m.items():
        click.echo(f"{key:14} {value if value is not None else '-'}")
    if stability:
        unstable = stability.pop("unstable")
        click.echo("stability      " + " ".join(f"{k} {'-' if v is None else v}" for k, v in stability.items()))
        for u in unstable:
            click.echo(f"  unstable     {inert(u['item_id'])}: {' '.join(inert(v) for v in u['verdicts'])}")


@runs_group.command("compare")
@click.argument("run_a", type=int)
@click.argument("run_b", type=int)
@format_option()
@labels_option()
@pass_app
def runs_compare(app: AppContext, run_a: int, run_b: int, fmt: str, labels: str) -> None:
    """Flips from RUN_A (baseline) to RUN_B: fixed, regressed, McNemar p."""
    left, right, flips = svc.compare_runs(app.ws, run_a, run_b, labels)
    if fmt == "json":
        echo_json({"baseline": left.as_dict(), "candidate": right.as_dict(), "flips": flips.to_dict()})
        return
    emit([{"run": v.run.id, "target": v.run.target_name, "prompt": v.run.prompt_path, **{
        k: v.metrics.to_dict()[k] for k in ("items", "tp", "fp", "fn", "tn", "no_verdict", "precision", "recall", "f1")}}
        for v in (left, right)], "table")
    click.echo(f"\n{len(flips.fixed)} fixed, {len(flips.regressed)} regressed, McNemar p={flips.mcnemar_p:.4g}")
    for title, ids in (("fixed", flips.fixed), ("regressed", flips.regressed)):
        if ids:
            click.echo(f"{title}: {', '.join(ids)}")


@runs_group.command("poll")
@click.argument("run_id", type=int, required=False)
@format_option()
@pass_app
def runs_poll(app: AppContext, run_id: int | None, fmt: str) -> None:
    """Collect the results of batch replays (`replay --batch`): of RUN_ID, or of every submitted run."""
    import asyncio

    from modtui.cli.replay import SUMMARY_COLUMNS, summary_row
    from modtui.services import batch as batch_svc

    report = asyncio.run(batch_svc.poll(app.ws, run_id))
    if fmt == "json":
        echo_json(report.as_dict())
    else:
        if report.batches:
            emit([b.as_dict() | {"runs": ", ".join(map(str, b.run_ids)), "counts": _counts(b.counts)}
                  for b in report.batches], "table",
                 ("batch", "target", "provider_batch_id", "provider_status", "status", "requests", "counts", "runs"))
        finished = [r for rep in report.finished for r in rep.runs]
        if finished:
            click.echo("")
            emit([summary_row(r) for r in finished], "table", SUMMARY_COLUMNS)
    if not report.batches and not report.finished:
        click.echo(f"run {run_id} has no batch waiting" if run_id else "no batch waiting", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(2)


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v}" for k, v in counts.items() if v)


def register(group: click.Group) -> None:
    group.add_command(runs_group)
