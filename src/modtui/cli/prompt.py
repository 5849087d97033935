"""`modtui prompt diff A B`: what changed between two prompt files."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.output import say
from modtui.prompts.diff import unified

pass_app = click.make_pass_decorator(AppContext)


@click.group("prompt")
def prompt_group() -> None:
    """Work with prompt templates.

    \b
    Example:
      modtui prompt diff hate_speech/production hate_speech/candidate
    """


@prompt_group.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--color/--no-color", default=None, help="Colour the diff (default: when stdout is a terminal).")
@pass_app
def prompt_diff(app: AppContext, a: str, b: str, color: bool | None) -> None:
    """Unified diff of two prompts (paths or policy/name), with their versions.

    \b
    Example:
      modtui prompt diff hate_speech/production hate_speech/candidate
    """
    left, right = app.ws.load_prompt(a), app.ws.load_prompt(b)
    text = unified(app.ws.prompt_source(left), app.ws.prompt_source(right), left.path, right.path)
    say(f"# {left.path} version {left.version}\n# {right.path} version {right.version}", err=True)
    if not text:
        say("(no differences)", err=True)
        return
    for line in text.splitlines():
        fg = (
            "green"
            if line.startswith("+") and not line.startswith("+++")
            else "red"
            if line.startswith("-") and not line.startswith("---")
            else "cyan"
            if line.startswith("@@")
            else None
        )
        say(line, fg=fg, color=color)


def register(group: click.Group) -> None:
    group.add_command(prompt_group)
