"""Tables that take the keys people bring from less, vim, lazygit and k9s: j/k, g/G, ctrl+d/ctrl+u."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, TextArea

# The action names are DataTable's own; ItemsTable and Reader implement the same ones.
NAVIGATION: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
    Binding("g", "scroll_top", "First", show=False),
    Binding("G", "scroll_bottom", "Last", show=False),
    Binding("ctrl+d", "half_page(1)", "Half page down", show=False),
    Binding("ctrl+u", "half_page(-1)", "Half page up", show=False),
]
NAVIGATION_HELP = "tables: ↑/↓ or j/k move · g/G first/last · ctrl+d/ctrl+u half a page · pgup/pgdn"


class Table(DataTable[Any]):
    BINDINGS = NAVIGATION

    def action_half_page(self, direction: int) -> None:
        step = max(1, (self.scrollable_content_region.height - self.header_height) // 2)
        self.move_cursor(row=max(0, min(self.row_count - 1, self.cursor_row + direction * step)))


class Reader(VerticalScroll):
    """A page of text read by scrolling: the same keys move it by a line, to an end, or half a page."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False),
    ]

    def action_half_page(self, direction: int) -> None:
        self.scroll_relative(y=direction * max(1, self.scrollable_content_region.height // 2), animate=False)


def typing_in(widget: Widget | None) -> bool:
    """The focused widget takes printable keys as text (an input box, an editable text area)."""
    return isinstance(widget, Input) or (isinstance(widget, TextArea) and not widget.read_only)
