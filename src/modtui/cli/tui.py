"""Opening the TUI: bare `modtui` and `modtui open INC`."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext

pass_app = click.make_pass_decorator(AppContext)


def open_tui(app: AppContext, incident_id: str | None) -> None:
    from modtui.tui.app import run_app

    run_app(app.ws, incident_id)


@click.command("open")
@click.argument("incident_id")
@pass_app
def open_incident(app: AppContext, incident_id: str) -> None:
    """Open the TUI on one incident's workbench.

    \b
    Example:
      modtui open INC-0042
    """
    from modtui.services.incidents import load_and_sync

    load_and_sync(app.ws, incident_id)  # refused here, before the TUI starts, if the files do not load; an
    open_tui(app, incident_id)  # unchanged folder is not checked item by item again (its fingerprint)


def register(group: click.Group) -> None:
    group.add_command(open_incident)
