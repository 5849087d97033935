"""Regenerate the screenshots of the README and docs/tui.md: the TUI on the bundled samples, after a replay of INC-0057's
production prompt and its policy's candidate.yaml on every item with the offline target.

    .venv/bin/python docs/make_screenshots.py     (writes docs/*.svg; the log goes to a temporary file)
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from textual.widgets import Input, TextArea

from modtui.tui.app import create_app
from modtui.tui.screens.dialogs import ReplayChoice
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
INCIDENT = "INC-0057"
SIZE = (120, 36)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Workspace.open(ROOT, str(Path(tmp) / "screens.db")))
        async with app.run_test(size=SIZE) as pilot:

            async def shot(name: str) -> None:
                await pilot.pause(0.2)
                for widget in app.query(Input):
                    widget.cursor_blink = False
                for widget in app.query(TextArea):
                    widget.cursor_blink = False
                app.clear_notifications()
                await pilot.pause()
                app.save_screenshot(filename=f"{name}.svg", path=str(DOCS))
                print(f"docs/{name}.svg")

            await shot("incidents")
            app.open_incident(INCIDENT)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, WorkbenchScreen)
            screen._start_replay(ReplayChoice(("offline",), "both", "all"))  # what r + the dialog choose
            assert screen.replay_worker is not None
            await screen.replay_worker.wait()
            await pilot.press("5")  # flipped: fixed and regressed items
            await shot("workbench-items")
            await pilot.press("m")
            await shot("workbench-metrics")
            await pilot.press("e")
            await shot("workbench-prompts")


if __name__ == "__main__":
    asyncio.run(main())
