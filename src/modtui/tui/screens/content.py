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
        lines = item.content.count("\n") + 1
        self.title = f"{incident_id} · item {inert(item.id)}"
        self.sub_title = f"{len(item.content):,} characters, {lines:,} line{'s' if lines > 1 else ''}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Pager(inert(self.item.content, keep_lines=True), id="content-pager")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(Pager).focus()
