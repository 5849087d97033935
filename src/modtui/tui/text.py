"""Untrusted content made inert for the terminal: no control characters, no escapes, no markup."""

from __future__ import annotations

from rich.text import Text

from modtui.terminal import one_line
from modtui.terminal import printable as inert


def preview(value: str, width: int = 80) -> Text:
    """One line of content for a table cell."""
    flat = inert(" ".join(value.split()))
    return Text(flat if len(flat) <= width else flat[: width - 1] + "…", no_wrap=True)


def plain(value: str) -> Text:
    """Text that is shown as written (markup is not interpreted), newlines kept."""
    return Text(inert(value, keep_lines=True))


def cell(value: str, style: str = "") -> Text:
    """A name or label from a file, the log or a person (target, prompt, label, author) for one table cell or
    title: on one line, printable, and never read as markup."""
    return Text(one_line(value), style=style, no_wrap=True)
