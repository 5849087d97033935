"""The modtui Textual app: a factory used by `modtui` and by tests, global keys, the command palette."""

from __future__ import annotations

import gc
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.markup import escape
from textual.notifications import SeverityLevel
from textual.screen import Screen

from modtui.errors import ModtuiError
from modtui.tui.text import inert
from modtui.workspace import Workspace


class ModtuiApp(App[None]):
    CSS_PATH = "modtui.tcss"
    TITLE = "modtui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=False),
    ]

    def __init__(self, ws: Workspace, incident_id: str | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.start_incident = incident_id

    def on_mount(self) -> None:
        from modtui.tui.screens.incidents import IncidentsScreen

        self.push_screen(IncidentsScreen())
        if self.start_incident:
            self.open_incident(self.start_incident)
        # What exists once the app is up (modules, classes, stylesheets: ~150k objects) lives as long as the
        # app; kept out of the cyclic GC's scans, a full collection takes ~20 ms instead of ~110 ms stalls.
        self.call_after_refresh(_freeze_startup_objects)

    def open_incident(self, incident_id: str) -> None:
        from modtui.tui.screens.workbench import WorkbenchData, WorkbenchScreen

        try:
            data = WorkbenchData.load(self.ws, incident_id)
        except ModtuiError as exc:
            self.notify(inert(str(exc)), title=f"Cannot open {inert(incident_id)}", severity="error", timeout=15)
            return
        self.push_screen(WorkbenchScreen(data))

    async def action_quit(self) -> None:
        """q and ctrl+q: a workbench with a running replay or unsaved candidate edits has its say first."""
        from modtui.tui.screens.workbench import WorkbenchScreen

        workbench = next((s for s in reversed(self.screen_stack) if isinstance(s, WorkbenchScreen)), None)
        if workbench is None:
            self.exit()
        else:
            workbench.request_leave(self.exit, "q", "quits")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification shows its text as written, whoever asks (Widget.notify passes markup=True): they
        carry names, paths and errors from files and the log, where '[' is text (as markup a tag vanished and
        '[/]' raised MarkupError). modtui's own messages use no markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        from modtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key of the current screen is also a command (then Textual's own: theme, screenshot…)."""
        from modtui.tui.keys import screen_keys

        for key in screen_keys(self, screen):
            yield SystemCommand(
                key.description,
                escape(f"{key.help} [{key.key}]"),
                lambda node=key.node, action=key.binding.action: self.call_later(node.run_action, action),
            )
        yield from super().get_system_commands(screen)


def _freeze_startup_objects() -> None:
    gc.collect()  # garbage from before (another app in the same process, in tests) is not kept forever
    gc.freeze()


def create_app(ws: Workspace, incident_id: str | None = None) -> ModtuiApp:
    return ModtuiApp(ws, incident_id)


def run_app(ws: Workspace, incident_id: str | None = None) -> None:
    create_app(ws, incident_id).run()
