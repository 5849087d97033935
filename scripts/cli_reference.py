"""Write docs/cli.md: every modtui command's --help, as a user sees it.

    .venv/bin/python scripts/cli_reference.py            (rewrites docs/cli.md)
    .venv/bin/python scripts/cli_reference.py --check    (exit 1 when docs/cli.md is stale)

tests/test_cli_reference.py fails when docs/cli.md differs from what this prints.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from modtui.cli import main

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
REGENERATE = ".venv/bin/python scripts/cli_reference.py"
WIDTH = 100  # fixed, so the file does not depend on the terminal it was generated in

HEADER = f"""# CLI reference

Generated from `modtui --help` by `{REGENERATE}`; do not edit by hand (a test fails when this
file is stale). Every command takes the global options before its name
(`modtui --workspace DIR --db URL COMMAND …`).

Exit codes: 0 success; 1 a gate failed (`--min-recall`, `--min-precision`, `--min-accuracy`,
`--fail-on-regression`); 2 bad input or usage (the message names the file and line); 130 interrupted
(Ctrl-C; what finished is kept and printed). Data goes to stdout, messages and progress to stderr.
"""


def _commands(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Context]]:
    yield ctx.command_path, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(
                    sub, click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
                )


def render() -> str:
    root = click.Context(
        main, info_name="modtui", terminal_width=WIDTH, max_content_width=WIDTH, **main.context_settings
    )
    parts = [HEADER]
    for path, ctx in _commands(main, root):
        parts.append(f"## `{path}`\n\n```text\n{ctx.command.get_help(ctx).rstrip()}\n```\n")
    return "\n".join(parts)


def main_script(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        stale = not CLI_MD.exists() or CLI_MD.read_text(encoding="utf-8") != text
        if stale:
            print(f"docs/cli.md is stale: run `{REGENERATE}`", file=sys.stderr)
        return int(stale)
    CLI_MD.write_text(text, encoding="utf-8")
    print(f"wrote {CLI_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main_script(sys.argv[1:]))
