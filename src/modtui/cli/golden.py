"""`modtui golden add|list`: golden sets of labelled items, replayed with `modtui replay --golden NAME`."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.output import echo_json, echo_table, format_option, inert, note, say

pass_app = click.make_pass_decorator(AppContext)


@click.group("golden")
def golden() -> None:
    """Golden sets: items with their gold labels copied into goldens/NAME.jsonl, replayed in CI
    with `modtui replay --golden NAME -p PROMPT` and the same gates as an incident.

    \b
    Example:
      modtui golden add INC-0042 --items fixed --set hate_speech_fixes
      modtui replay --golden hate_speech_fixes -p hate_speech/candidate --min-accuracy 1
    """


@golden.command("add")
@click.argument("incident_id")
@click.option("--set", "name", required=True, help="The golden set (goldens/NAME.jsonl; created on first use).")
@click.option(
    "--items",
    "items",
    multiple=True,
    default=("all",),
    show_default=True,
    help="'fixed' (items the latest candidate run fixed against its baseline), 'all', or item ids "
    "(repeatable; ids may also be comma-separated).",
)
@click.option("--run", "run_id", type=int, help="With --items fixed: this candidate run instead of the latest.")
@format_option(("table", "json"))
@pass_app
def golden_add(
    app: AppContext, incident_id: str, name: str, items: tuple[str, ...], run_id: int | None, fmt: str
) -> None:
    """Copy items of INCIDENT_ID, with their gold labels, into the golden set NAME.

    \b
    Example:
      modtui golden add INC-0042 --items fixed --set hate_speech_fixes
    """
    from modtui.errors import Problem, UsageError
    from modtui.services import golden as svc

    which = [part.strip() for value in items for part in value.split(",") if part.strip()]
    if not which:  # `--items "$IDS"` with IDS empty: never the whole incident
        raise UsageError(Problem("--items", f"{', '.join(map(repr, items))} names no item: give 'fixed', 'all' or ids"))
    if run_id is not None and which != ["fixed"]:
        raise UsageError(Problem("--run", "only goes with --items fixed"))
    result = svc.add(app.ws, incident_id, name, which, run_id)
    path = app.ws.relative(result.golden.path)
    if fmt == "json":
        echo_json(
            {
                "set": name,
                "path": path,
                "incident": incident_id,
                "run_id": result.run_id,
                "added": result.added,
                "already_present": result.already,
                "items": len(result.golden.items),
            }
        )
        return
    source = f" (fixed by run {result.run_id})" if result.run_id is not None else ""
    say(
        f"{path}: {len(result.added)} item(s) of {incident_id}{source} added, "
        f"{len(result.already)} already present; {len(result.golden.items)} in the set"
    )
    if not result.added and not result.already:
        note("nothing to add")


@golden.command("list")
@format_option(("table", "json"))
@pass_app
def golden_list(app: AppContext, fmt: str) -> None:
    """The workspace's golden sets.

    \b
    Example:
      modtui golden list --format json
    """
    from modtui.services import golden as svc

    sets = svc.summaries(app.ws)
    if fmt == "json":
        echo_json({"goldens": sets})
        return
    rows = [
        {
            **s,
            "incidents": inert(", ".join(s["incidents"])),
            "kinds": " ".join(f"{k}:{v}" for k, v in s["kinds"].items()),
        }
        for s in sets
    ]
    echo_table(rows, ("name", "items", "policy", "incidents", "kinds", "path"))


def register(group: click.Group) -> None:
    group.add_command(golden)
