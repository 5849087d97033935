"""Rendering for the CLI: data to stdout as a table, JSON, JSONL or CSV; messages to stderr."""
from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from modtui.terminal import printable

FORMATS = ("table", "json", "jsonl", "csv")


def format_option(choices: Sequence[str] = ("table", "json")) -> Any:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        help="Output format (table for people; the others for scripts).")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_jsonl(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


def echo_csv(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})


def echo_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, max_width: int = 60) -> None:
    if not rows:
        click.echo("(none)")
        return
    cols = list(columns or rows[0].keys())
    cells = [[_clip(_cell(row.get(c)), max_width) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def emit(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> None:
    {"json": echo_json, "jsonl": echo_jsonl, "csv": echo_csv}.get(fmt, lambda r: echo_table(r, columns))(rows)  # type: ignore[arg-type]


def note(message: str) -> None:
    click.echo(message, err=True)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return inert(str(value))


def inert(text: str) -> str:
    """Untrusted text on one table line, through the one terminal sanitiser."""
    return printable(text.replace("\n", " "))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
