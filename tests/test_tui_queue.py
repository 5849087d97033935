"""The review queue in the TUI: `9` filters the items to the queue; an item opened from it says why it is there."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from modtui.services.queue import build
from modtui.tui.screens.item_detail import ItemDetailScreen
from modtui.tui.widgets.items_table import ItemsTable
from test_tui import make_app, wait_replay


async def test_queue_filter_and_reasons_in_the_detail(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("9")  # nothing replayed yet: nothing to review
        assert screen.query_one(ItemsTable).shown_ids() == []
        await pilot.press("r", "ctrl+r")  # production and the policy's candidate on the offline target
        await wait_replay(pilot, screen)
        for _ in range(2):  # the sequence people repeat: the queue, an item, back, the queue again
            await pilot.press("9")
            queued = build(app.ws, "INC-T1").reasons_of()  # type: ignore[attr-defined]
            shown = screen.query_one(ItemsTable).shown_ids()
            assert shown and shown == list(queued)  # in the queue's order
            assert "review queue" in str(screen.query_one("#items-status", Static).render())
            await pilot.press("enter")
            detail = app.screen
            assert isinstance(detail, ItemDetailScreen)
            reasons = str(detail.query_one("#item-queue-reasons", Static).render())
            assert shown[0] in detail.title and queued[shown[0]][0].code in reasons
            await pilot.press("escape")
            assert app.screen is screen
        await pilot.press("1", "enter")  # opened from another filter: no queue section
        assert not app.screen.query("#item-queue-reasons")
        assert not [n for n in app._notifications if n.severity == "error"]  # type: ignore[attr-defined]
