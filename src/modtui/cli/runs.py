"""`modtui runs list|show|compare`."""

from __future__ import annotations

from typing import Any

import click

from modtui.analysis.intervals import with_interval
from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import cell, echo_json, emit, format_option, inert, note, p_value, say

svc = lazy("modtui.services.runs")
slices_svc = lazy("modtui.services.slices")
LABEL_SETS = ("original", "corrected")  # services.labels.LABEL_SETS, as a literal: --help imports no services

pass_app = click.make_pass_decorator(AppContext)


@click.group("runs")
def runs_group() -> None:
    """Inspect and compare replay runs recorded in the log.

    \b
    Example:
      modtui runs compare 1 2
    """


@runs_group.command("list")
@click.argument("incident_id", required=False)
@format_option(("table", "json", "csv"))
@pass_app
def runs_list(app: AppContext, incident_id: str | None, fmt: str) -> None:
    """Runs, newest first (optionally of one incident).

    \b
    Example:
      modtui runs list INC-0042 --format csv
    """
    rows = svc.list_runs(app.ws, incident_id)
    echo_json({"runs": rows}) if fmt == "json" else emit([_rates_shown(r, fmt) for r in rows], fmt)


def _rates_shown(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """P and R with their intervals in one table cell (`0.750 [0.53–0.89]`); in CSV, each bound a column."""
    out = {k: v for k, v in row.items() if not k.endswith("_ci")}
    for key in ("precision", "recall", "f1"):
        interval = row[f"{key}_ci"]
        if fmt == "table" and key != "f1":
            out[key] = with_interval(row[key], interval)
        elif fmt == "csv":
            low, high = interval or (None, None)
            out.update({f"{key}_ci_low": low, f"{key}_ci_high": high})
    return out


def labels_option() -> Any:
    return click.option(
        "--labels",
        type=click.Choice(LABEL_SETS),
        default="original",
        show_default=True,
        help="Gold labels: the incident's, or with label_error findings' corrections.",
    )


def by_options(fn: Any) -> Any:
    fn = click.option(
        "--min-n",
        type=int,
        default=30,
        show_default=True,
        help="Slices with fewer items are marked small (their rates are not to be trusted alone).",
    )(fn)
    fn = click.option(
        "--bins", type=int, default=5, show_default=True, help="Equal-width bins for a numeric meta field."
    )(fn)
    return click.option(
        "--by",
        metavar="KEY",
        help="Cut the metrics by slice: rule (the policy rules verdicts cited), kind, cluster or meta.FIELD "
        "(e.g. meta.locale).",
    )(fn)


@runs_group.command("show")
@click.argument("run_id", type=int)
@format_option()
@labels_option()
@by_options
@click.option(
    "--fp-cost",
    type=float,
    default=1.0,
    show_default=True,
    help="Cost of one false positive, for the threshold of least cost.",
)
@click.option(
    "--fn-cost",
    type=float,
    default=1.0,
    show_default=True,
    help="Cost of one false negative, for the threshold of least cost.",
)
@pass_app
def runs_show(
    app: AppContext,
    run_id: int,
    fmt: str,
    labels: str,
    by: str | None,
    bins: int,
    min_n: int,
    fp_cost: float,
    fn_cost: float,
) -> None:
    """One run with its metrics and their 95 % intervals; with --by, per slice (see docs/analysis.md).

    \b
    Example:
      modtui runs show 2 --labels corrected
      modtui runs show 2 --by meta.locale
    """
    if by is not None:
        data = slices_svc.run_slices(app.ws, run_id, by, bins=bins, min_n=min_n, labels=labels)
        if fmt == "json":
            echo_json(data)
        else:
            emit([_slice_row(s) for s in data["slices"]], "table", SLICE_COLUMNS)
            _small_note(data)
        return
    data = svc.show(app.ws, run_id, labels, fp_cost, fn_cost)
    if fmt == "json":
        echo_json(data)
        return
    m = data.pop("metrics")
    stability = data.pop("stability", None)
    data["corrections"] = len(data["corrections"])
    cal, cheapest = data.pop("calibration"), data.pop("cheapest_threshold")
    for key in ("answered_models", "system_fingerprints"):  # the distinct values the provider named
        data[key] = ", ".join(data[key]) or None
    for key, value in data.items():
        say(f"{key:14} {cell(key, value)}")
    say("")
    emit([metric_row(m)], "table", METRIC_COLUMNS)
    say("")
    for key in ("precision", "recall", "f1"):
        say(f"{key:14} {with_interval(m[key], m[f'{key}_ci'])}")
    if m["no_verdict_by_type"]:
        say(f"{'no verdict':14} " + ", ".join(f"{inert(kind)} {n}" for kind, n in m["no_verdict_by_type"].items()))
    if stability:
        unstable = stability.pop("unstable")
        say("stability      " + ", ".join(f"{k} {cell(k, v)}" for k, v in stability.items()))
        for u in unstable:
            say(f"  unstable     {inert(u['item_id'])}: {' '.join(inert(v) for v in u['verdicts'])}")
    if cal is not None:
        say(f"{'ece':14} {cal['ece']:.3f} over {cal['scored']} scored items")
    if cheapest is not None:
        at = "flag nothing" if cheapest["threshold"] is None else f"score >= {cheapest['threshold']:.3f}"
        say(
            f"{'least cost':14} {at}: {cheapest['fp']} FP × {fp_cost:g} + {cheapest['fn']} FN × {fn_cost:g} "
            f"= {cheapest['cost']:g}"
        )


METRIC_COLUMNS = (
    "items",
    "tp",
    "fp",
    "fn",
    "tn",
    "no_verdict",
    "accuracy",
    "coverage",
    "cached",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "p50_ms",
    "p95_ms",
)


def metric_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """A run's counts, cost and latency as one table row: latency as p50/p95 columns."""
    latency = metrics["latency_ms"]
    return {**{k: metrics.get(k) for k in METRIC_COLUMNS}, "p50_ms": latency["p50"], "p95_ms": latency["p95"]}


SLICE_COLUMNS = ("key", "items", "tp", "fp", "fn", "tn", "no_verdict", "precision", "recall", "f1", "small")


def _slice_row(s: dict[str, Any]) -> dict[str, Any]:
    return {
        **s,
        "precision": with_interval(s["precision"], s["precision_ci"]),
        "recall": with_interval(s["recall"], s["recall_ci"]),
        "small": "small" if s["small"] else "",
    }


def _small_note(data: dict[str, Any]) -> None:
    small = sum(s["small"] for s in data["slices"])
    if small:
        note(f"{small} slice(s) have fewer than {data['min_n']} items (--min-n): read their rates with their intervals")


@runs_group.command("compare")
@click.argument("run_a", type=int)
@click.argument("run_b", type=int)
@format_option()
@labels_option()
@by_options
@pass_app
def runs_compare(
    app: AppContext, run_a: int, run_b: int, fmt: str, labels: str, by: str | None, bins: int, min_n: int
) -> None:
    """Flips from RUN_A (baseline) to RUN_B: fixed, regressed, McNemar p; with --by, per slice.

    \b
    Example:
      modtui runs compare 1 2 --format json
    """
    if by is not None:
        data = slices_svc.compare_slices(app.log_ws, run_a, run_b, by, bins=bins, min_n=min_n, labels=labels)
        if fmt == "json":
            echo_json(data)
        else:
            emit(
                [
                    {
                        "key": s["key"],
                        "items": s["items"],
                        "fixed": s["fixed"],
                        "regressed": s["regressed"],
                        "f1_before": s["baseline"]["f1"],
                        "f1_after": s["candidate"]["f1"],
                        "small": "small" if s["small"] else "",
                        "regressed_items": s["regressed_items"],
                    }
                    for s in data["slices"]
                ],
                "table",
            )
            _small_note(data)
        return
    left, right, flips = svc.compare_runs(app.log_ws, run_a, run_b, labels)
    warning = svc.model_change(left.answered, right.answered, left.run.id, right.run.id)
    if warning:
        note(f"warning: {inert(warning)}")
    if fmt == "json":
        echo_json(
            {
                "baseline": left.as_dict(),
                "candidate": right.as_dict(),
                "flips": flips.to_dict(),
                "warnings": [warning] if warning else [],
            }
        )
        return
    rows = []
    for v in (left, right):
        m = v.metrics.to_dict()
        rows.append(
            {
                **{k: v.as_dict()[k] for k in ("run_id", "target", "prompt")},
                **{k: m[k] for k in ("items", "tp", "fp", "fn", "tn", "no_verdict")},
                "precision": with_interval(m["precision"], m["precision_ci"]),
                "recall": with_interval(m["recall"], m["recall_ci"]),
                "f1": with_interval(m["f1"], m["f1_ci"]),
            }
        )
    emit(rows, "table")
    say(f"\n{len(flips.fixed)} fixed, {len(flips.regressed)} regressed, McNemar p={p_value(flips.mcnemar_p)}")
    for title, ids in (("fixed", flips.fixed), ("regressed", flips.regressed)):
        if ids:
            say(f"{title}: {', '.join(map(inert, ids))}")


@runs_group.command("poll")
@click.argument("run_id", type=int, required=False)
@format_option()
@pass_app
def runs_poll(app: AppContext, run_id: int | None, fmt: str) -> None:
    """Collect the results of batch replays (`replay --batch`): of RUN_ID, or of every submitted run.

    \b
    Example:
      modtui runs poll --format json
    """
    import asyncio

    from modtui.cli.replay import SUMMARY_COLUMNS, summary_row
    from modtui.services import batch as batch_svc

    report = asyncio.run(batch_svc.poll(app.ws, run_id))
    if fmt == "json":
        echo_json(report.as_dict())
    else:
        if report.batches:
            emit(
                [
                    b.as_dict() | {"runs": ", ".join(map(str, b.run_ids)), "counts": _counts(b.counts)}
                    for b in report.batches
                ],
                "table",
                ("batch", "target", "provider_batch_id", "provider_status", "status", "requests", "counts", "runs"),
            )
        finished = [r for rep in report.finished for r in rep.runs]
        if finished:
            say("")
            emit([summary_row(r) for r in finished], "table", SUMMARY_COLUMNS)
    if not report.batches and not report.finished:
        say(f"run {run_id} has no batch waiting" if run_id else "no batch waiting", err=True)
    for error in report.errors:
        say(f"error: {inert(str(error))}", err=True)
    if report.errors:
        raise SystemExit(2)


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v}" for k, v in counts.items() if v)


def register(group: click.Group) -> None:
    group.add_command(runs_group)
