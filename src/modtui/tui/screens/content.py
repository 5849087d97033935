"""An item's whole content in a pager, for a post too long for the item detail's preview (`c` there)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header

from modtui.domain.incident import Item
from modtui.tui.text import inert
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.pager import Pager


class ContentScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", id="content.back")]

    def __init__(self, incident_id: str, item: Item) -> None:
        super().__init__()
        self.item = item
        self.title = f"{incident_id} · item {inert(item.id)}"
        self.size_note = f"{len(item.content):,} characters"
        self.sub_title = self.size_note

    def compose(self) -> ComposeResult:
        yield Header()
        yield Pager(inert(self.item.content, keep_lines=True), id="content-pager")
        yield KeysFooter()

    def on_mount(self) -> None:
        pager = self.query_one(Pager)
        pager.focus()
        self.watch(pager, "scroll_y", self._show_position)
        self.watch(pager, "virtual_size", self._show_position)

    def _show_position(self) -> None:
        """Where the screen is in the text, as less -M says it: the last line shown and the share read."""
        pager = self.query_one(Pager)
        total = len(pager.lines)
        if not total:
            return
        shown = min(total, round(pager.scroll_y) + pager.scrollable_content_region.height)
        self.sub_title = f"line {shown:,}/{total:,} ({100 * shown // total}%) · {self.size_note}"
