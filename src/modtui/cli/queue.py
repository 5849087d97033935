"""`modtui queue INC`: the items that most need a human next, with the reasons, one per near-duplicate cluster."""

from __future__ import annotations

import io
from pathlib import Path

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.numbers import RATIO
from modtui.cli.output import echo_json, echo_table, inert, note, say

svc = lazy("modtui.services.queue")
pass_app = click.make_pass_decorator(AppContext)


@click.command("queue")
@click.argument("incident_id")
@click.option("--size", type=click.IntRange(1), default=20, show_default=True, help="How many items to queue.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format (table for people; json and csv for scripts).",
)
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False),
    metavar="FILE.csv",
    help="Also write the queue for a labelling tool (id, content as masked for wellbeing, reasons, current "
    "labels, an empty label column); bring the labels back with `incident import FILE --update`.",
)
@click.option(
    "--threshold",
    type=RATIO,
    default=0.5,
    show_default=True,
    help="Decision threshold on the positive label's confidence (for the low-margin reason).",
)
@click.option(
    "--band",
    type=RATIO,
    default=0.15,
    show_default=True,
    help="How close to the threshold a confidence counts as a low margin.",
)
@pass_app
def queue(
    app: AppContext, incident_id: str, size: int, fmt: str, export: str | None, threshold: float, band: float
) -> None:
    """The review queue: items the latest runs disagree on, unstable under repeats, close to the threshold,
    flipped by probes, disputed by annotators or by a finding — best first, near-duplicates collapsed.

    \b
    Example:
      modtui queue INC-0042 --size 10 --export queue.csv"""
    built = svc.build(app.ws, incident_id, size, threshold, band)
    if export:
        rows = svc.export_csv(built, Path(export))
        note(f"wrote {rows} items to {export}")
    if fmt == "json":
        echo_json(built.as_dict())
    elif fmt == "csv":
        buffer = io.StringIO()  # through the one sanitiser: the rows hold content
        svc.write_csv(built, buffer)
        say(buffer.getvalue(), nl=False)
    else:
        echo_table(
            [
                {
                    "rank": n,
                    "item": q.item.id,
                    "score": q.entry.score,
                    "reasons": ", ".join(r.code for r in q.entry.reasons),
                    "dups": len(q.entry.duplicates),
                    "content": inert(" ".join(q.content.split())),
                }
                for n, q in enumerate(built.items, start=1)
            ],
            max_width=50,
        )
        note(
            f"{len(built.items)} of {built.candidates} items with a reason (near-duplicates collapsed); "
            f"latest runs: {', '.join(built.runs) or 'none'}"
        )


def register(group: click.Group) -> None:
    group.add_command(queue)
