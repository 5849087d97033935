"""`modtui targets`: configured targets and whether each one's key is present (never the key)."""

from __future__ import annotations

import os

import click

from modtui.cli.context import AppContext
from modtui.cli.output import echo_json, emit, format_option

pass_app = click.make_pass_decorator(AppContext)


def key_status(api_key_env: str | None) -> str:
    if not api_key_env:
        return "not needed"
    return "set" if os.environ.get(api_key_env) else "missing"


@click.command("targets")
@format_option()
@pass_app
def targets(app: AppContext, fmt: str) -> None:
    """List model targets from modtui.toml (plus the built-in offline baseline).

    \b
    Example:
      modtui targets
    """
    rows = [
        {
            "name": t.name,
            "provider": t.provider,
            "model": t.model,
            "base_url": t.base_url,
            "key_env": t.api_key_env,
            "key": key_status(t.api_key_env),
            "concurrency": t.concurrency,
            "rpm": t.requests_per_minute,
        }
        for t in app.ws.config.targets.values()
    ]
    echo_json({"targets": rows}) if fmt == "json" else emit(rows, "table")


def register(group: click.Group) -> None:
    group.add_command(targets)
