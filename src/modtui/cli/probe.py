"""`modtui probe INC --mutations leet,homoglyph,…`: label-preserving variants replayed; flip rate per mutation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, echo_table, inert, note, say
from modtui.cli.progress import ProgressPrinter
from modtui.cli.numbers import RATIO

if TYPE_CHECKING:
    from modtui.services.probe import ProbeReport

svc = lazy("modtui.services.probe")
ITEM_SETS = ("all", "failing", "guard")  # the services' constants, as literals: --help imports no services
MUTATION_NAMES = "leet, homoglyph, spacing, zero_width, case, punct, emoji, typo"

pass_app = click.make_pass_decorator(AppContext)


@click.command("probe")
@click.argument("incident_id")
@click.option(
    "--mutations", required=True, metavar="NAME[,NAME…]", help=f"Mutations to apply, comma-separated: {MUTATION_NAMES}."
)
@click.option("-p", "--prompt", "prompts", multiple=True, help="Prompt to probe (repeatable; default: production).")
@click.option(
    "-m", "--target", "targets", multiple=True, help="Target from modtui.toml (repeatable; default: production's)."
)
@click.option("--items", type=click.Choice(ITEM_SETS), default="all", show_default=True, help="Which items to mutate.")
@click.option(
    "--per-item",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Variants per item and mutation (repeats of one variant are dropped).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the variants (the same seed, the same variants)."
)
@click.option(
    "-j", "--concurrency", type=click.IntRange(1, 1024), help="Concurrent calls per target (default: the target's)."
)
@click.option("--no-cache", is_flag=True, help="Call the provider even when a stored reply exists.")
@click.option("--fail-over", type=RATIO, metavar="RATE", help="Gate: exit 1 when a mutation's flip rate is above RATE.")
@click.option("--author", help="Who ran it (default: $MODTUI_AUTHOR or your OS user).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format (table for people, json for scripts).",
)
@pass_app
def probe(
    app: AppContext,
    incident_id: str,
    mutations: str,
    prompts: tuple[str, ...],
    targets: tuple[str, ...],
    items: str,
    per_item: int,
    seed: int,
    concurrency: int | None,
    no_cache: bool,
    fail_over: float | None,
    author: str | None,
    fmt: str,
) -> None:
    """Evasion probes: replay label-preserving variants of an incident's items and count the verdicts that flip.

    \b
    Example:
      modtui probe INC-0042 --mutations leet,homoglyph,spacing --items failing --format json

    A flip is a variant whose label differs from its parent's in the same run. Variants are kept in the log
    apart from the incident's own items and metrics."""
    from modtui.replay import eventloop

    spec = svc.ProbeSpec(
        incident_id,
        mutations.split(","),
        prompts,
        targets,
        items,
        per_item,
        seed,
        concurrency,
        not no_cache,
        app.ws.author(author),
    )
    try:
        plan = svc.plan(app.ws, spec)
    except KeyboardInterrupt:
        note("interrupted before any call was made; run the same command again to start")
        raise SystemExit(130) from None
    note(
        f"probing {len(plan.parents)} items with {len(plan.variants)} variants "
        f"({', '.join(spec.mutations)}) on {len(plan.replay.jobs)} run(s)"
    )
    printer = ProgressPrinter()
    try:
        rep = eventloop.run(svc.execute(app.ws, plan, printer))
    except KeyboardInterrupt:
        printer.close()
        rep = svc.report(app.ws, plan, interrupted=True)
        note("interrupted: finished results are kept; run the same command again to resume")
        _print(rep, fmt)
        raise SystemExit(130) from None
    printer.close()
    svc.record(app.ws, rep, spec.author)
    for reason in rep.stopped:
        note(f"error: {reason}")
    _print(rep, fmt)
    failures = [
        f"run {r.run_id} ({r.target} × {r.prompt}) {m.name}: flip rate {m.flip_rate:.3f} > {fail_over}"
        for r in rep.runs
        for m in r.mutations
        if fail_over is not None and m.flip_rate is not None and m.flip_rate > fail_over
    ]
    for failure in failures:
        note(f"gate failed: {failure}")
    if rep.stopped:
        raise SystemExit(2)
    if failures:
        raise SystemExit(1)


def _print(rep: ProbeReport, fmt: str, limit: int = 5) -> None:
    if fmt == "json":
        echo_json(rep.as_dict())
        return
    echo_table(
        [
            {
                "run": r.run_id,
                "target": r.target,
                "prompt": r.prompt,
                "mutation": m.name,
                "variants": m.variants,
                "flipped": m.flipped,
                "flip_rate": m.flip_rate,
                "95% ci": "-" if m.flip_rate_ci is None else f"{m.flip_rate_ci[0]:.3f}–{m.flip_rate_ci[1]:.3f}",
                "no_verdict": m.no_verdict,
            }
            for r in rep.runs
            for m in r.mutations
        ]
    )
    for r in rep.runs:
        for m in r.mutations:
            for f in m.flipped_items[:limit]:
                say(
                    f"  {m.name:10} {inert(f.parent_id):10} {inert(f.parent_label)} → {inert(f.variant_label)}: "
                    f"{inert(f.variant)[:60]}"
                )
            if len(m.flipped_items) > limit:
                say(f"  {m.name:10} … and {len(m.flipped_items) - limit} more (--format json lists all)")


def register(group: click.Group) -> None:
    group.add_command(probe)
