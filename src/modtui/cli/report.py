"""`modtui report INC`: the handoff report as Markdown or JSON (report/schema.json)."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, say
from modtui.report.markdown import render

svc = lazy("modtui.services.report")

pass_app = click.make_pass_decorator(AppContext)


@click.command("report")
@click.argument("incident_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Markdown for people, JSON (report/schema.json) for tools.",
)
@click.option("--redact", is_flag=True, help="Mask item content and personal data (emails, phones, @handles, URLs).")
@click.option("--no-mask", is_flag=True, help="Show the content the workspace's wellbeing setting would mask.")
@pass_app
def report(app: AppContext, incident_id: str, fmt: str, redact: bool, no_mask: bool) -> None:
    """The handoff report of an incident: status, conditions, actions, findings, needs, timeline.

    \b
    Example:
      modtui report INC-0042 > handoff.md
    """
    data = svc.build(app.ws, incident_id, svc.ReportOptions(redact=redact, mask=not no_mask))
    if fmt == "json":
        echo_json(data)
    else:
        say(render(data), nl=False)


def register(group: click.Group) -> None:
    group.add_command(report)
