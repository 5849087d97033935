"""Tables that take the keys people bring from less, vim, lazygit and k9s: j/k, g/G, ctrl+d/ctrl+u."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, TextArea


def vim_keys(down: str, up: str, top: str, bottom: str) -> list[BindingType]:
    """j/k, g/G and ctrl+d/ctrl+u bound to a widget's own actions (and its `half_page(±1)`)."""
    return [
        Binding("j", down, "Down", show=False),
        Binding("k", up, "Up", show=False),
        Binding("g", top, "First", show=False),
        Binding("G", bottom, "Last", show=False),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False),
    ]


# A table's keys use DataTable's own action names; ItemsTable (drawn line by line, not a DataTable) implements them.
NAVIGATION = vim_keys("cursor_down", "cursor_up", "scroll_top", "scroll_bottom")
# home/end go to the first/last row of every table (a DataTable's own scroll it sideways; ← → still do)
ROW_ENDS: list[BindingType] = [
    Binding("home", "scroll_top", "First", show=False),
    Binding("end", "scroll_bottom", "Last", show=False),
]
# the cursor keys DataTable binds itself, for a table that is not one
ROW_CURSOR_KEYS: list[BindingType] = [
    Binding("up", "cursor_up", "Up", show=False),
    Binding("down", "cursor_down", "Down", show=False),
    Binding("pageup", "page_up", "Page up", show=False),
    Binding("pagedown", "page_down", "Page down", show=False),
    *ROW_ENDS,
]
NAVIGATION_HELP = "tables: ↑/↓ or j/k move · g/G or home/end first/last · ctrl+d/ctrl+u half a page · pgup/pgdn"


class Table(DataTable[Any]):
    BINDINGS = [*NAVIGATION, *ROW_ENDS]

    def action_half_page(self, direction: int) -> None:
        rows = self.scrollable_content_region.height - self.header_height
        self.move_cursor(row=half_page_from(self.cursor_row, self.row_count, rows, direction))


def half_page_from(index: int, count: int, rows: int, direction: int) -> int:
    """The row half of `rows` visible rows down (1) or up (-1) from `index`, one of the `count` rows."""
    return max(0, min(count - 1, index + direction * max(1, rows // 2)))


class Choices(OptionList):
    """A list to pick from (a dialog's): the table keys too, j/k, g/G, ctrl+d/ctrl+u."""

    BINDINGS = vim_keys("cursor_down", "cursor_up", "first", "last")

    def action_half_page(self, direction: int) -> None:
        if self.option_count:
            rows = self.scrollable_content_region.height
            self.highlighted = half_page_from(self.highlighted or 0, self.option_count, rows, direction)


# A page read by scrolling (Reader, Pager): the same keys move it by a line, to an end, or half a page.
READER_KEYS = vim_keys("scroll_down", "scroll_up", "scroll_home", "scroll_end")


def half_page(widget: Widget, direction: int) -> None:
    """Scroll `widget` half its visible height down (1) or up (-1)."""
    widget.scroll_relative(y=direction * max(1, widget.scrollable_content_region.height // 2), animate=False)


class Reader(VerticalScroll):
    """A page of text read by scrolling: the same keys move it by a line, to an end, or half a page."""

    BINDINGS = READER_KEYS

    def action_half_page(self, direction: int) -> None:
        half_page(self, direction)


def typing_in(widget: Widget | None) -> bool:
    """The focused widget takes printable keys as text (an input box, an editable text area)."""
    return isinstance(widget, Input) or (isinstance(widget, TextArea) and not widget.read_only)
