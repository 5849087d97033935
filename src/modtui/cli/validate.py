"""`modtui validate [PATH]`: check a whole workspace (exit 0) or report every problem (exit 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modtui.cli.context import AppContext
from modtui.cli.output import inert, say
from modtui.cli.lazy import lazy
from modtui.errors import InputError

if TYPE_CHECKING:
    from modtui.workspace import Workspace

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
    for warning in pattern_warnings(ws):
        say(f"warning: {inert(warning)}", err=True)
    if problems:
        raise InputError(problems)
    say(
        f"ok: {counts.get('incidents', 0)} incidents, {counts.get('items', 0)} items, "
        f"{counts.get('prompts', 0)} prompts, {len(ws.config.targets)} targets",
        err=True,
    )


def pattern_warnings(ws: Workspace) -> list[str]:
    """`path: …` for every policy pattern that can backtrack catastrophically (validation still passes)."""
    from modtui.policy.patterns import policy_warnings
    from modtui.prompts.loader import load_prompt

    out = []
    for path in sorted(ws.prompts_dir.rglob("*.yaml")) if ws.prompts_dir.is_dir() else []:
        try:
            policy = load_prompt(path, ws.relative(path)).template.policy
        except InputError:
            continue  # reported as a problem
        out += [f"{ws.relative(path)}: {w}" for w in policy_warnings(policy)] if policy else []
    return out


def register(group: click.Group) -> None:
    group.add_command(validate)
