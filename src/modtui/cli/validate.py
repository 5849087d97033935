"""`modtui validate [PATH]`: check a whole workspace (exit 0) or report every problem (exit 2)."""
from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.output import say
from modtui.cli.lazy import lazy
from modtui.errors import InputError

incidents_svc = lazy("modtui.services.incidents")

pass_app = click.make_pass_decorator(AppContext)


@click.command("validate")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@pass_app
def validate(app: AppContext, path: str | None) -> None:
    """Validate incidents, prompts and modtui.toml without touching the log.

    \b
    Example:
      modtui validate
    """
    from modtui.workspace import Workspace
    ws = Workspace.open(path, app.db) if path else app.ws
    counts, problems = incidents_svc.validate_workspace(ws)
    if problems:
        raise InputError(problems)
    say(f"ok: {counts.get('incidents', 0)} incidents, {counts.get('items', 0)} items, "
               f"{counts.get('prompts', 0)} prompts, {len(ws.config.targets)} targets", err=True)


def register(group: click.Group) -> None:
    group.add_command(validate)
