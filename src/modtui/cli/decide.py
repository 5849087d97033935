"""`modtui select`, `modtui cascade`, `modtui estimate`, `modtui sample plan`: decisions at production volume
from recorded runs (no call is made)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.numbers import SHARE
from modtui.cli.output import echo_json, echo_table, format_option, inert, note, say

pass_app = click.make_pass_decorator(AppContext)
decide = lazy("modtui.services.decide")
estimates = lazy("modtui.services.estimate")


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def with_ci(value: float | None, ci: Sequence[float] | None) -> str:
    """`0.750 [0.53–0.89]`: a figure with its 95 % interval."""
    return _num(value) + (f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "")


def _money(value: float) -> str:
    return f"{value:.4f}" if value < 1 else f"{value:,.2f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


@click.command("select")
@click.argument("incident_id")
@click.option(
    "--runs",
    "run_list",
    metavar="R,…",
    help="Compare these runs (default: the newest completed run of each target × prompt on one item set).",
)
@click.option(
    "--items",
    "item_set",
    type=click.Choice(["failing", "guard", "all"]),
    help="Item set of the runs compared (default: the newest completed run's).",
)
@format_option(("table", "json"))
@pass_app
def select_cmd(app: AppContext, incident_id: str, run_list: str | None, item_set: str | None, fmt: str) -> None:
    """Which target × prompt to ship: F1 with its interval, cost per 1,000 items (live and batch) and p50/p95
    latency of each run, the Pareto-optimal ones marked with *.

    \b
    Example:
      modtui select INC-0042
      modtui select INC-0042 --runs 3,4,7 --format json
    """
    run_ids = _run_ids(run_list)
    data = decide.select(app.ws, incident_id, run_ids, item_set)
    if fmt == "json":
        echo_json(data)
        return
    echo_table(
        [
            {
                "": "*" if r["pareto"] else "",
                "run": r["run_id"],
                "target": inert(r["target"]),
                "prompt": inert(r["prompt"]),
                "items": r["items"],
                "f1": with_ci(r["f1"], r["f1_ci"]),
                "precision": with_ci(r["precision"], r["precision_ci"]),
                "recall": with_ci(r["recall"], r["recall_ci"]),
                "$/1k": _money(r["cost_per_1k_usd"]),
                "batch $/1k": _money(r["batch_cost_per_1k_usd"]),
                "p50 ms": _ms(r["latency_ms"]["p50"]),
                "p95 ms": _ms(r["latency_ms"]["p95"]),
            }
            for r in data["runs"]
        ]
    )
    note("* Pareto-optimal: no other run is at least as good on F1, cost and p95 latency and better on one")


def _run_ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in parts if not (p.isascii() and p.isdigit())]
    if bad or not parts:
        raise click.BadParameter(
            f"'{bad[0] if bad else text}' is not a run id (e.g. --runs 3,4,7)", param_hint="--runs"
        )
    return [int(p) for p in parts]


@click.command("cascade")
@click.argument("incident_id")
@click.option(
    "--stage",
    "stages",
    multiple=True,
    required=True,
    metavar="RUN[@THRESHOLD]",
    help="A stage: a recorded run, and the confidence below which it escalates (repeat, first to last; "
    "the last stage decides).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Also try every threshold the first stage's confidences make and show the cost/F1 frontier.",
)
@format_option(("table", "json"))
@pass_app
def cascade_cmd(app: AppContext, incident_id: str, stages: tuple[str, ...], sweep: bool, fmt: str) -> None:
    """Simulate a cascade from recorded runs, with no new calls: each item goes to the first stage and escalates
    to the next when that stage gave no verdict or is less confident than its threshold.

    \b
    Example (the offline rules first, a model for the uncertain rest):
      modtui cascade INC-0042 --stage 1@0.9 --stage 5
      modtui cascade INC-0042 --stage 1@0.9 --stage 5 --sweep --format json
    """
    specs = [decide.parse_stage(s) for s in stages]
    data = decide.cascade(app.ws, incident_id, specs, sweep)
    if fmt == "json":
        echo_json(data)
        return
    c = data["cascade"]
    rows = [_cascade_row("cascade", c)] + [_cascade_row(f"#{r['run_id']} alone", r) for r in data["stages_alone"]]
    echo_table(rows)
    say("")
    echo_table(
        [
            {
                "stage": inert(s["stage"]),
                "threshold": _num(s["threshold"], 2),
                "reached": s["reached"],
                "escalated": s["escalated"],
                "rate": _num(s["escalation_rate"]),
            }
            for s in c["stages"]
        ]
    )
    if c["items_missing"]:
        note(f"{c['items_missing']} items left out: not every stage has a result for them")
    if sweep:
        say("")
        last = len(data["sweep"]) - 1
        echo_table(
            [
                {
                    "": "*" if p["pareto"] else "",
                    "threshold": "all" if i == last else _num(p["threshold"], 3),
                    "f1": _num(p["f1"]),
                    "precision": _num(p["precision"]),
                    "recall": _num(p["recall"]),
                    "escalated": _num(p["escalation_rate"]),
                    "$/1k": _money(p["cost_per_1k_usd"]),
                }
                for i, p in enumerate(data["sweep"])
            ]
        )
        note("* on the cost/F1 frontier; threshold 'all' escalates every item")


def _cascade_row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "": name,
        "items": r["items"],
        "tp": r["tp"],
        "fp": r["fp"],
        "fn": r["fn"],
        "tn": r["tn"],
        "precision": with_ci(r["precision"], r["precision_ci"]),
        "recall": with_ci(r["recall"], r["recall_ci"]),
        "f1": with_ci(r["f1"], r["f1_ci"]),
        "$/1k": _money(r["cost_per_1k_usd"]),
        "p95 ms": _ms(r["latency_ms"]["p95"]),
    }


@click.command("estimate")
@click.argument("incident_id")
@click.option("--run", "run_id", type=int, required=True, help="The run (on the sample incident) to project.")
@click.option(
    "--daily-volume",
    type=click.IntRange(1),
    help="Posts a day: also project false positives and false negatives a day.",
)
@format_option(("table", "json"))
@pass_app
def estimate_cmd(app: AppContext, incident_id: str, run_id: int, daily_volume: int | None, fmt: str) -> None:
    """A run's precision, recall, prevalence and predicted-positive rate on production traffic, with 95 %
    intervals, from a sample incident (incident.yaml `kind: sample`, `population: {stratum: size}`).

    \b
    Example:
      modtui estimate INC-S001 --run 9 --daily-volume 2000000
    """
    data = estimates.estimate_run(app.ws, incident_id, run_id, daily_volume)
    if fmt == "json":
        echo_json(data)
        return
    rows = [
        {
            "": name.replace("_", " "),
            "estimate": with_ci(data[name]["value"], data[name]["ci"]),
            "over items": data[name]["n"],
        }
        for name in ("precision", "recall", "prevalence", "predicted_positive_rate")
    ]
    echo_table(rows)
    if daily := data.get("daily"):
        for name in ("false_positives", "false_negatives"):
            d = daily[name]
            ci = f" [{d['ci'][0]:,}–{d['ci'][1]:,}]" if d["ci"] else ""
            say(
                f"{name.replace('_', ' ')} a day at {daily['volume']:,} posts: "
                f"{'-' if d['value'] is None else format(d['value'], ',')}{ci}"
            )
    note(
        f"{data['items']} sampled items of a population of {data['population']:,} in {len(data['strata'])} "
        f"strata; method: {data['method']}"
    )


@click.group("sample")
def sample_group() -> None:
    """Plan a labelled sample of production traffic.

    \b
    Example:
      modtui sample plan --population 2000000 --expected-prevalence 0.03 --target-halfwidth 0.005
    """


@sample_group.command("plan")
@click.option("--population", type=click.IntRange(1), required=True, help="Posts in the population sampled.")
@click.option(
    "--expected-prevalence",
    type=SHARE,
    required=True,
    help="Share of violating posts you expect (a guess is fine; 0.5 is the most conservative).",
)
@click.option(
    "--target-halfwidth",
    type=SHARE,
    required=True,
    help="The ± you want on the 95 % interval, e.g. 0.01.",
)
@click.option(
    "--expected-recall",
    type=SHARE,
    help="Also plan for a recall interval of that width, at this expected recall.",
)
@format_option(("table", "json"))
def sample_plan(
    population: int, expected_prevalence: float, target_halfwidth: float, expected_recall: float | None, fmt: str
) -> None:
    """How many items to label for an interval of a given width.

    \b
    Example:
      modtui sample plan --population 2000000 --expected-prevalence 0.03 --target-halfwidth 0.005
    """
    data = estimates.plan(population, expected_prevalence, target_halfwidth, expected_recall)
    if fmt == "json":
        echo_json(data)
        return
    say(f"label {data['items_for_prevalence']:,} items for prevalence within ±{target_halfwidth:g}")
    if expected_recall is not None:
        say(
            f"label {data['items_for_recall']:,} items ({data['positives_for_recall']:,} expected positives) "
            f"for recall within ±{target_halfwidth:g}"
        )


def register(group: click.Group) -> None:
    for command in (select_cmd, cascade_cmd, estimate_cmd, sample_group):
        group.add_command(command)
