"""A pager for text of any length (a megabyte post): wrapped once per width, only the lines on screen drawn.

A `Static` measures and wraps its whole text again on every layout, refresh and resize (Textual's `Content`
wraps word by word in Python: 0.3–0.6 s a megabyte, strips included). Here the text is wrapped a line at a time
by a greedy fit (a C-level `rfind` for the last space, per-character widths only on lines holding wide
characters) when the width changes, and `render_line` draws the lines the scroll position shows (the Line API).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from textual.actions import SkipAction
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modtui.tui.widgets.tables import READER_KEYS, half_page

TAB_SIZE = 8


def _fit(line: str, start: int, width: int) -> int:
    """The end of the longest run of `line` from `start` that fits `width` cells (at least one character)."""
    end = min(len(line), start + width)
    if cell_len(line[start:end]) <= width:  # no wide characters: the quick case (a C-level set test)
        return end
    cells, end = 0, start
    while end < len(line):
        cells += get_character_cell_size(line[end])
        if cells > width:
            break
        end += 1
    return max(end, start + 1)


def wrap_lines(text: str, width: int) -> list[str]:
    """`text` (already printable) as the lines a `width`-cell column shows: each of its lines wrapped at the last
    space that fits (the space dropped), a word longer than the width cut where the width ends; tabs expanded."""
    width = max(1, width)
    wrapped: list[str] = []
    append = wrapped.append
    for line in text.split("\n"):
        if "\t" in line:
            line = line.expandtabs(TAB_SIZE)
        start, length = 0, len(line)
        if length <= width and line.isascii():
            append(line)
            continue
        while True:
            end = _fit(line, start, width)
            if end >= length:
                append(line[start:])
                break
            if line[end] == " ":
                append(line[start:end])
                start = end + 1
                continue
            space = line.rfind(" ", start, end)
            if space > start:
                append(line[start:space])
                start = space + 1
            else:
                append(line[start:end])
                start = end
    return wrapped


class Pager(ScrollView, can_focus=True):
    """Text read by scrolling, with the keys of `Reader` (j/k, g/G, ctrl+d/ctrl+u, arrows, pgup/pgdn, home/end)."""

    BINDINGS = READER_KEYS

    def __init__(self, text: str, *, id: str | None = None, classes: str | None = None) -> None:
        """`text` must already be printable (`modtui.terminal.printable`): it is drawn as it is."""
        super().__init__(id=id, classes=classes)
        self.text = text
        self.lines: list[str] = []
        self._wrapped_at: int | None = None

    def on_resize(self, event: Resize) -> None:
        self._wrap()

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width  # the stylesheet keeps the vertical scrollbar up: one width
        if width == self._wrapped_at or width <= 0:
            return
        top = self.scroll_y / max(1, len(self.lines))  # keep the same part of the text in view
        self.lines = wrap_lines(self.text, width)
        self._wrapped_at = width
        self.virtual_size = Size(width, len(self.lines))
        self.scroll_to(y=round(top * len(self.lines)), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        index, style = round(self.scroll_offset.y) + y, self.rich_style
        if index >= len(self.lines):
            return Strip.blank(self.size.width, style)
        return Strip([Segment(self.lines[index], style)]).crop_extend(0, self.size.width, style)

    # The keys jump, as less does: an animated scroll across a megabyte draws dozens of frames on its way.
    def _jump(self, scroll: Callable[..., object]) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        scroll(animate=False)

    def action_scroll_home(self) -> None:
        self._jump(self.scroll_home)

    def action_scroll_end(self) -> None:
        self._jump(self.scroll_end)

    def action_scroll_up(self) -> None:
        self._jump(self.scroll_up)

    def action_scroll_down(self) -> None:
        self._jump(self.scroll_down)

    def action_page_up(self) -> None:
        self._jump(self.scroll_page_up)

    def action_page_down(self) -> None:
        self._jump(self.scroll_page_down)

    def action_half_page(self, direction: int) -> None:
        half_page(self, direction)
