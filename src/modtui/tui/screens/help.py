"""`?`: the keys of the screen underneath, and the global ones."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static(f"Keys — {self.under.title or type(self.under).__name__}", classes="dialog-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static("ctrl+p opens the command palette with every action below. escape closes.",
                         classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "action")
        rows: dict[str, tuple[str, str]] = {}
        for active in self.under.active_bindings.values():
            binding = active.binding
            if binding.description and binding.action not in rows:
                key = binding.key_display or self.app.get_key_display(binding)
                rows[binding.action] = (key, binding.description)
        for key, description in rows.values():
            table.add_row(Text(key, style="bold"), description)
