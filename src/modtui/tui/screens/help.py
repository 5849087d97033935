"""`?`: the keys of the screen underneath, and the global ones."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from modtui.tui.keys import screen_keys
from modtui.tui.widgets.tables import NAVIGATION_HELP, Table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            title = self.under.title or type(self.under).__name__  # holds the incident's title: not markup
            yield Static(Text(f"Keys — {title}"), classes="dialog-title")
            yield Table(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static(
                f"{NAVIGATION_HELP}\nctrl+p opens the command palette with every action above. escape closes.",
                classes="hint",
                id="help-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_columns("key", "action", "")
        for key in screen_keys(self.app, self.under):
            table.add_row(
                Text(key.key, style="bold"),
                key.description,
                Text(key.help if key.help != key.description else "", style="dim"),
            )
