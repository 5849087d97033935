"""Findings & timeline: what was run, found and decided on the incident, newest first."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from modtui.store.tables import EventRow
from modtui.tui.text import inert

KIND_STYLE = {"run": "cyan", "status": "yellow", "finding": "magenta"}


class TimelineScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="timeline.back")]

    def __init__(self, incident_id: str, events: list[EventRow]) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.events = events
        self.title = f"{incident_id} · timeline"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{len(self.events)} event(s), newest first", classes="section-title")
        yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.add_columns("time", "kind", "author", "what")
        for event in self.events:
            table.add_row(event.at[:19].replace("T", " "), Text(event.kind, style=KIND_STYLE.get(event.kind, "")),
                          Text(inert(event.author)), Text(inert(event.summary)))
        if not self.events:
            table.add_row("", "", "", Text("nothing yet: replays, status changes and findings appear here", style="dim"))
        table.focus()
