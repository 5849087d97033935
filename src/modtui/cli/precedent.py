"""`modtui precedent "text"`: the most similar labelled items across the workspace's incidents."""

from __future__ import annotations

import sys

import click

from modtui.cli.context import AppContext
from modtui.cli.output import echo_json, echo_table, format_option, inert, note

pass_app = click.make_pass_decorator(AppContext)


@click.command("precedent")
@click.argument("text")
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True, help="How many items.")
@click.option("--exclude-incident", metavar="INC", help="Leave this incident's items out.")
@format_option(("table", "json"))
@pass_app
def precedent(app: AppContext, text: str, top: int, exclude_incident: str | None, fmt: str) -> None:
    """The items most similar to TEXT in every incident, with their gold label and incident id.

    TEXT is compared after normalisation (case, look-alike letters, leetspeak, numbers); use '-' to read stdin.

    \b
    Example:
      modtui precedent "send gift card codes" --top 10
    """
    from modtui.services import precedent as svc

    if text == "-":
        text = sys.stdin.read()
    svc.check_query(text)
    matches = svc.similar_items(app.ws, text, top, exclude_incident=exclude_incident)
    if fmt == "json":
        echo_json({"query": text, "precedents": [m.to_dict() for m in matches]})
        return
    rows = [
        {
            "score": f"{m.score:.1f}",
            "label": m.example.label,
            "incident": m.example.incident_id,
            "item": m.example.item_id,
            "kind": m.example.kind,
            "content": inert(m.example.content),
        }
        for m in matches
    ]
    echo_table(rows, ("score", "label", "incident", "item", "kind", "content"), max_width=70)
    if not matches:
        note(
            "no labelled items in the workspace's incidents"
            + (f" besides {exclude_incident}" if exclude_incident else "")
        )


def register(group: click.Group) -> None:
    group.add_command(precedent)
