"""The TUI's findings and masking, driven by keys: add and resolve findings on the timeline, reveal masked content."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Select, Static
from textual.worker import WorkerCancelled

from conftest import INCIDENT_ID, burst, until
from modtui.services import findings as svc
from modtui.tui.app import ModtuiApp, create_app
from modtui.tui.screens.finding_dialogs import FindingDialog, ResolveDialog
from modtui.tui.screens.item_detail import ItemDetailScreen
from modtui.tui.screens.timeline import TimelineScreen
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.items_table import ItemsTable
from modtui.workspace import Workspace


def make_app(root: Path) -> ModtuiApp:
    return create_app(Workspace.open(root), INCIDENT_ID)


def findings_in_log(root: Path) -> list:
    ws = Workspace.open(root)
    try:
        return svc.list_findings(ws, INCIDENT_ID)
    finally:
        ws.close()


async def replay(pilot, screen: WorkbenchScreen) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("r", "ctrl+r")  # defaults: offline, baseline + candidate, failing items
    await until(lambda: screen.replay_worker is not None, what="the dialog handled ctrl+r")
    assert screen.replay_worker is not None
    try:
        await screen.replay_worker.wait()
    except WorkerCancelled:
        pass
    await pilot.pause()  # the screen has handled the worker's end (and re-read the log)
    await until(lambda: not screen.data.matrix_pending, what="the verdicts re-read after the replay")


async def type_into(pilot, widget: Input, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.focus()
    await pilot.pause()
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def test_add_a_finding_prefilled_from_the_workbench(workspace: Path) -> None:
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        workbench = app.screen
        assert isinstance(workbench, WorkbenchScreen)
        await replay(pilot, workbench)
        await pilot.press("3", "t")  # false negatives, then the timeline
        timeline = app.screen
        assert isinstance(timeline, TimelineScreen)
        await pilot.press("f")
        dialog = app.screen
        assert isinstance(dialog, FindingDialog)
        assert dialog.query_one("#finding-items", Input).value == "i-04, i-05"
        assert dialog.query_one("#finding-runs", Input).value == "1, 2"

        await pilot.press("ctrl+s")  # no category yet: refused in the dialog, nothing written
        assert "Choose a root-cause category" in str(dialog.query_one("#finding-error", Static).render())
        dialog.query_one("#finding-category", Select).value = "missing_context"
        await type_into(pilot, dialog.query_one("#finding-items", Input), " i-99")
        await type_into(pilot, dialog.query_one("#finding-summary", Input), "threats read as banter")
        await pilot.press("enter")
        assert app.screen is dialog and "no item 'i-99'" in str(dialog.query_one("#finding-error", Static).render())
        assert findings_in_log(workspace) == []

        dialog.query_one("#finding-items", Input).value = "i-04, i-05"
        dialog.query_one("#finding-fix", Input).focus()
        await pilot.pause()
        fix = "name threats in the policy"
        burst(app, *("space" if c == " " else c for c in fix), "ctrl+s")  # typed fast: every key lands, then save
        await until(lambda: app.screen is timeline, what="the dialog saved and closed")
        [finding] = findings_in_log(workspace)
        assert (finding.category, finding.summary, finding.fix) == (
            "missing_context",
            "threats read as banter",
            "name threats in the policy",
        )
        assert finding.items == ("i-04", "i-05") and finding.runs == (1, 2) and finding.author == "tester"
        table = timeline.query_one("#findings", DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[1]) == "open"
        assert "finding #1 added" in str(timeline.query_one("#timeline", DataTable).get_row_at(0)[3])


async def test_resolve_the_highlighted_finding(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    for summary in ("first", "second"):
        svc.add(ws, svc.NewFinding(INCIDENT_ID, "policy_gap", summary, "ana"))
    svc.resolve(ws, 1, "done", "ana")
    ws.close()
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        timeline = app.screen
        assert isinstance(timeline, TimelineScreen)
        table = timeline.query_one("#findings", DataTable)
        await until(lambda: table.row_count == 2, what="the timeline read the findings")
        assert [str(table.get_row_at(r)[0]) for r in range(table.row_count)] == ["2", "1"]  # open first
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ResolveDialog)
        await pilot.press("enter")  # an empty resolution is refused in the dialog
        assert app.screen is dialog and "say how" in str(dialog.query_one("#resolve-error", Static).render())
        await type_into(pilot, dialog.query_one("#resolution", Input), "prompt v3 shipped")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is timeline
        by_id = {f.id: f for f in findings_in_log(workspace)}
        assert by_id[2].status.value == "resolved" and by_id[2].resolution == "prompt v3 shipped"
        assert by_id[1].resolution == "done"
        await pilot.press("down", "x")  # the other one is already resolved: nothing opens
        assert app.screen is timeline


async def test_masked_content_until_revealed(workspace: Path) -> None:
    config = workspace / "modtui.toml"
    config.write_text(config.read_text().replace("[workspace]\n", '[workspace]\nmask_meta_tags = ["surface"]\n'))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        table = screen.query_one(ItemsTable)
        items = {i.id: i for i in screen.data.loaded.items}
        assert table.preview(items["i-09"]).startswith("[masked] (meta tag 'surface')")  # meta {"surface": "comment"}
        assert table.preview(items["i-01"]) == items["i-01"].content
        await pilot.press("v")
        assert table.preview(items["i-09"]).startswith("nice try")
        await pilot.press("v")
        table.move_cursor(list(items).index("i-09"))
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ItemDetailScreen)
        content = detail.query_one("#item-content", Static)
        assert "press v to reveal" in str(content.render()) and "nice try" not in str(content.render())
        await pilot.press("v")
        assert "nice try" in str(content.render())


async def test_reveal_key_hidden_when_nothing_is_masked(workspace: Path) -> None:
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.screen.check_action("reveal", ()) is False
