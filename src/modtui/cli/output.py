"""The CLI's one way to a terminal: data to stdout as a table, JSON, JSONL or CSV; messages to stderr.

Every line the CLI prints goes through `say` (stdout) or `note` (stderr), which pass it through the one
sanitiser, `modtui.terminal.printable`; no other module of `cli/` calls `click.echo` or `print`
(tests/test_hygiene.py checks). JSON keeps every character but writes C0, DEL, C1 and bidi controls as
`\\uXXXX` escapes; CSV cells that a spreadsheet would read as a formula are neutralised with a leading `'`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

import click

from modtui.files.csv_cells import inert_cell
from modtui.terminal import JSON_ESCAPES, printable

FORMATS = ("table", "json", "jsonl", "csv")


def format_option(choices: Sequence[str] = ("table", "json")) -> Any:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format (table for people; the others for scripts).",
    )


def say(
    text: object = "", *, err: bool = False, nl: bool = True, fg: str | None = None, color: bool | None = None
) -> None:
    """One message or line of data, made printable first (newlines and tabs kept); `fg` colours it after."""
    shown = printable(str(text), keep_lines=True)
    click.echo(click.style(shown, fg=fg) if fg else shown, err=err, nl=nl, color=color)


def note(message: str) -> None:
    """A message for people, on stderr."""
    say(message, err=True)


LONG_LIST = 32  # an indented document writes a list of more scalars than this on one line
_SCALARS = (str, int, float, bool, type(None))


def json_text(data: Any, indent: int | None = 2) -> str:
    """`data` as JSON: characters kept as written, except control and bidi characters, written as escapes.
    Indented, a long list of scalars (a compare's 16,000 item ids) is one line, encoded by json's C encoder:
    the pure-Python indenting encoder took ~0.1 s of a 50,000-item `runs compare`, one id per line."""
    text = json.dumps(data, ensure_ascii=False, default=str) if indent is None else _indented(data, indent)
    if text.isascii() and "\x7f" not in text:  # nothing to escape (checked in C: a 50,000-item compare's 870 kB)
        return text
    return text.translate(JSON_ESCAPES)


def _indented(data: Any, indent: int) -> str:
    nonce = uuid.uuid4().hex  # marks where the long lists go back: no text in the data can equal it
    lists: list[list[Any]] = []

    def lift(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: lift(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if len(value) > LONG_LIST and all(isinstance(v, _SCALARS) for v in value):
                lists.append(list(value))
                return f"{nonce}:{len(lists) - 1}"
            return [lift(v) for v in value]
        return value

    text = json.dumps(lift(data), indent=indent, ensure_ascii=False, default=str)
    if not lists:
        return text
    compact = [json.dumps(values, ensure_ascii=False, default=str) for values in lists]
    return re.sub(f'"{nonce}:([0-9]+)"', lambda m: compact[int(m.group(1))], text)


def echo_json(data: Any) -> None:
    click.echo(json_text(data))


def echo_jsonl(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json_text(row, indent=None))


def echo_csv(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v, k) for k, v in row.items()})
    say(buffer.getvalue(), nl=False)


def csv_cell(value: Any, column: str = "") -> Any:
    """A value for a CSV cell: numbers as they are; text printable, and with a `'` first when it would start a
    formula in a spreadsheet (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`)."""
    if value is None or isinstance(value, (bool, int, float)):
        return cell(column, value)
    return inert_cell(cell(column, value))


def echo_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, max_width: int = 60) -> None:
    """Columns padded by terminal cell width (CJK and emoji take two cells, an emoji ZWJ sequence two in all)."""
    from rich.cells import cell_len

    if not rows:
        say("(none)")
        return
    cols = list(columns or rows[0].keys())
    cells = [[clip(cell(c, row.get(c)), max_width) for c in cols] for row in rows]
    widths = [max(len(c), *(cell_len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    say("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        say("  ".join(v + " " * (w - cell_len(v)) for v, w in zip(row, widths)).rstrip())


def emit(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> None:
    {"json": echo_json, "jsonl": echo_jsonl, "csv": echo_csv}.get(fmt, lambda r: echo_table(r, columns))(rows)


def cell(column: str, value: Any) -> str:
    """A value as a table shows it: numbers rounded for reading, p-values in scientific notation."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return number(column, value)
    if isinstance(value, (list, tuple)):
        return inert(",".join(map(str, value)))
    return inert(str(value))


def number(column: str, value: float) -> str:
    """`0.824` for rates; a p-value never as `0.000` (`1.03e-07`); cost and latency to 3 significant digits."""
    if column.endswith("_p") or column == "p_value":
        return p_value(value)
    if column.endswith(("_ms", "_usd")):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value:.3f}"


def p_value(p: float) -> str:
    """A p-value to 3 significant digits, in scientific notation below 0.001 (the TUI shows the same)."""
    from modtui.analysis.significance import p_text

    return p_text(p)


def inert(text: str) -> str:
    """Untrusted text on one table line, through the one terminal sanitiser."""
    return printable(text.replace("\n", " "))


def clip(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, with `…` when it was longer."""
    from rich.cells import cell_len, set_cell_size

    return text if cell_len(text) <= width else set_cell_size(text, width - 1).rstrip() + "…"
