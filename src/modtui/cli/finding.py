"""`modtui finding add|list|resolve|supersede`: root causes with evidence; label disputes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modtui.cli.context import AppContext
from modtui.cli.lazy import lazy
from modtui.cli.output import echo_json, emit, format_option, inert, note, say

if TYPE_CHECKING:
    from modtui.domain.finding import Finding

svc = lazy("modtui.services.findings")

pass_app = click.make_pass_decorator(AppContext)
LIST_COLUMNS = ("id", "incident", "category", "status", "author", "created_at", "items", "runs", "summary")


@click.group("finding")
def finding_group() -> None:
    """Record, list and close root-cause findings (never deleted).

    \b
    Example:
      modtui finding list INC-0042 --open
    """


@finding_group.command("add")
@click.argument("incident_id")
@click.option(
    "--category", "-c", required=True, help="Root-cause category (workspace taxonomy; see `finding categories`)."
)
@click.option("--summary", "-s", required=True, help="What was found.")
@click.option("--item", "items", multiple=True, help="Evidence: an item id of the incident (repeatable).")
@click.option("--run", "runs", multiple=True, type=int, help="Evidence: a run id of the incident (repeatable).")
@click.option("--fix", help="The fix, tried or proposed.")
@click.option(
    "--correct",
    "corrections",
    multiple=True,
    metavar="ITEM=LABEL",
    help="label_error only: the gold label ITEM should have (repeatable); the original is kept.",
)
@click.option("--author", help="Who found it (default: $MODTUI_AUTHOR, modtui.toml, or your OS user).")
@format_option()
@pass_app
def finding_add(
    app: AppContext,
    incident_id: str,
    category: str,
    summary: str,
    items: tuple[str, ...],
    runs: tuple[int, ...],
    fix: str | None,
    corrections: tuple[str, ...],
    author: str | None,
    fmt: str,
) -> None:
    """Record a finding on INCIDENT_ID with its evidence.

    \b
    Example:
      modtui finding add INC-0042 --category policy_gap --summary "Reclaimed terms read as slurs" \
          --item i-0003 --run 2 --fix "in_group_reclaimed exception"
    """
    new = svc.NewFinding(
        incident_id, category, summary, app.ws.author(author), items, runs, fix, svc.parse_corrections(corrections)
    )
    finding = svc.add(app.ws, new)
    if fmt == "json":
        echo_json(finding.as_dict())
    else:
        say(finding.id)
        note(f"finding #{finding.id} added to {finding.incident_id} [{finding.category}]")


@finding_group.command("list")
@click.argument("incident_id", required=False)
@click.option("--open", "open_only", is_flag=True, help="Only open findings.")
@format_option()
@pass_app
def finding_list(app: AppContext, incident_id: str | None, open_only: bool, fmt: str) -> None:
    """Findings, open first, newest first (optionally of one incident).

    \b
    Example:
      modtui finding list INC-0042 --open --format json
    """
    findings = svc.list_findings(app.ws, incident_id, open_only)
    if fmt == "json":
        echo_json({"findings": [f.as_dict() for f in findings]})
    else:
        emit([_row(f) for f in findings], "table", LIST_COLUMNS)


def _row(f: Finding) -> dict[str, object]:
    status = f.status.value + (f" by #{f.superseded_by}" if f.superseded_by else "")
    return {
        "id": f.id,
        "incident": f.incident_id,
        "category": f.category,
        "status": status,
        "author": f.author,
        "created_at": f.created_at[:16].replace("T", " "),
        "items": len(f.items),
        "runs": ",".join(map(str, f.runs)),
        "summary": f.summary,
    }


@finding_group.command("show")
@click.argument("finding_id", type=int)
@format_option()
@pass_app
def finding_show(app: AppContext, finding_id: int, fmt: str) -> None:
    """One finding with its evidence, corrections and resolution.

    \b
    Example:
      modtui finding show 1
    """
    data = svc.get(app.ws, finding_id).as_dict()
    if fmt == "json":
        echo_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        say(f"{key:13} {inert(str(value)) if value not in (None, '') else '-'}")


@finding_group.command("resolve")
@click.argument("finding_id", type=int)
@click.option("--resolution", "-r", required=True, help="How it was resolved.")
@click.option("--rejected", is_flag=True, help="Close it as wrong (a label dispute's corrections stop applying).")
@click.option("--author", help="Who resolved it (default: $MODTUI_AUTHOR, modtui.toml, or your OS user).")
@pass_app
def finding_resolve(app: AppContext, finding_id: int, resolution: str, rejected: bool, author: str | None) -> None:
    """Close an open finding with its resolution.

    \b
    Example:
      modtui finding resolve 1 --resolution "candidate v2 shipped"
    """
    finding = svc.resolve(app.ws, finding_id, resolution, app.ws.author(author), rejected)
    note(f"finding #{finding.id} {finding.status.value}")


@finding_group.command("supersede")
@click.argument("finding_id", type=int)
@click.option("--by", "by", type=int, required=True, help="The finding that replaces it.")
@click.option("--author", help="Who decided (default: $MODTUI_AUTHOR, modtui.toml, or your OS user).")
@pass_app
def finding_supersede(app: AppContext, finding_id: int, by: int, author: str | None) -> None:
    """Mark FINDING_ID as replaced by a later finding (--by) of the same incident.

    \b
    Example:
      modtui finding supersede 1 --by 3
    """
    svc.supersede(app.ws, finding_id, by, app.ws.author(author))
    note(f"finding #{finding_id} superseded by #{by}")


@finding_group.command("categories")
@pass_app
def finding_categories(app: AppContext) -> None:
    """The root-cause categories of this workspace.

    \b
    Example:
      modtui finding categories
    """
    for category in svc.categories(app.ws):
        say(category)


def register(group: click.Group) -> None:
    group.add_command(finding_group)
