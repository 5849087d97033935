"""`modtui agreement INC`: Cohen's κ per annotator pair, Fleiss' κ, the items annotators disagree on."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, emit, format_option, inert, say

svc = lazy("modtui.services.agreement")
pass_app = click.make_pass_decorator(AppContext)


@click.command("agreement")
@click.argument("incident_id")
@format_option()
@pass_app
def agreement_command(app: AppContext, incident_id: str, fmt: str) -> None:
    """Label agreement of the incident's annotators (items' `annotations`; see docs/analysis.md).

    \b
    Example:
      modtui agreement INC-0101 --format json
    """
    data = svc.as_dict(incident_id, svc.incident_agreement(app.ws, incident_id))
    if fmt == "json":
        echo_json(data)
        return
    if not data["annotators"]:
        say(
            f"{inert(incident_id)}: no item records annotations "
            f"(items.jsonl `annotations`, or `incident import --annotation-cols`)"
        )
        return
    say(f"annotators     {', '.join(map(inert, data['annotators']))}")
    say(f"items          {data['items_annotated']} annotated, {len(data['disagreements'])} with disagreement")
    fleiss = data["fleiss_kappa"]
    fleiss = None if fleiss is None else round(fleiss, 3) + 0.0  # no "-0.000" from rounding noise
    say(
        f"fleiss_kappa   {'-' if fleiss is None else f'{fleiss:.3f}'}"
        + (
            f" (on {data['fleiss_items']} items with {data['fleiss_raters']} annotators)"
            if data["fleiss_raters"]
            else ""
        )
    )
    say("")
    emit(data["pairwise"], "table", ("a", "b", "n", "kappa"))
    if data["disagreements"]:
        say(f"\ndisagreements: {', '.join(map(inert, data['disagreements']))}")


def register(group: click.Group) -> None:
    group.add_command(agreement_command)
