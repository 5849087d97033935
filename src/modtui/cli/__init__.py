"""The `modtui` command: a click group whose subcommands are thin calls into the services."""

from __future__ import annotations

import io
import os
import sys
import traceback
from importlib import import_module
from typing import Any

import click

from modtui.cli.context import AppContext
from modtui.cli.output import inert, say
from modtui.errors import InputError, ModtuiError


class ModtuiGroup(click.Group):
    """Turns ModtuiError into `path:line: message` on stderr and exit 2 (traceback with --debug); click's own
    usage errors quote arguments, so their message passes the sanitiser too; a reader that stops reading
    (`modtui … | head -1`) ends the command quietly with exit 0."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            exc.message = inert(exc.message)  # type: ignore[misc]  # click's stub says Final; we re-quote it
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone before the end shows here, not in the interpreter's flush at exit
            return result
        except click.ClickException as exc:
            exc.message = inert(exc.message)  # type: ignore[misc]  # click's stub says Final; we re-quote it
            raise
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(0)
        except ModtuiError as exc:
            _traceback_if_debug(ctx)
            # one line per problem; values quoted from files (labels, ids, keys) are untrusted: shown inert
            lines = [str(p) for p in exc.problems] if isinstance(exc, InputError) else str(exc).splitlines()
            for line in map(inert, lines or [type(exc).__name__]):
                say(f"error: {line}" if not _located(line) else line, err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # a name the system refuses, a permission: the path and the reason, not a traceback
            _traceback_if_debug(ctx)
            where = inert(os.fsdecode(exc.filename))[:200] if exc.filename is not None else "error"
            say(f"{where}: {inert(exc.strerror or str(exc))}", err=True)
            ctx.exit(2)


def _traceback_if_debug(ctx: click.Context) -> None:
    app = ctx.find_object(AppContext)
    if (app and app.debug) or os.environ.get("MODTUI_DEBUG") == "1":
        traceback.print_exc()


def _quiet_stdout() -> None:
    """stdout's reader has gone: later writes (and the flush at exit) go nowhere instead of raising again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (click's test runner)
        pass


def _located(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return ":" in head or "/" in head or head.endswith((".yaml", ".jsonl", ".toml", ".csv"))


@click.group(cls=ModtuiGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    envvar="MODTUI_WORKSPACE",
    type=click.Path(file_okay=False),
    help="Workspace folder with incidents/ and prompts/ (default: current directory).",
)
@click.option("--db", envvar="MODTUI_DB", help="Log database: a path or a URL (default: WORKSPACE/.modtui/modtui.db).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="modtui")
@click.pass_context
def main(ctx: click.Context, workspace: str | None, db: str | None, debug: bool) -> None:
    """modtui: a terminal workbench for LLM content-moderation incidents.

    Run without a command to open the TUI on the workspace.

    \b
    Example:
      modtui                                 # the TUI on the incidents of the current directory
      modtui --workspace ~/trust-safety replay INC-0042 -p hate_speech/candidate
    """
    ctx.obj = AppContext(workspace, db, debug)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from modtui.cli.tui import open_tui

        open_tui(ctx.obj, None)


COMMAND_MODULES = (
    "agreement",
    "cluster",
    "decide",
    "finding",
    "golden",
    "incident",
    "precedent",
    "probe",
    "prompt",
    "queue",
    "replay",
    "report",
    "runs",
    "targets",
    "tui",
    "validate",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        import_module(f"modtui.cli.{name}").register(main)


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
