"""The TUI driven as a specialist would: keys in, widgets and the log checked."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from modtui.store import runs as q
from modtui.tui.app import ModtuiApp, create_app
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.items_table import ItemsTable
from modtui.tui.widgets.metrics_panel import MetricsPanel
from modtui.tui.widgets.prompt_editors import DiffTextArea, PromptEditors
from modtui.workspace import Workspace

SELF_DEPRECATION = "    - name: self_deprecation\n      terms: [i am an idiot, i'm an idiot]\n"


def make_app(root: Path, incident: str | None = None) -> ModtuiApp:
    ws = Workspace.open(root, str(root.parent / "tui.db"))
    return create_app(ws, incident)


def cells(table: ItemsTable, column: str) -> dict[str, str]:
    """item id → cell text of a column ("id", or a verdict column's title)."""
    index = table.get_column_index(column if column == "id" else "v:" + column)
    return {str(table.get_row_at(r)[0]): str(table.get_cell_at((r, index)))
            for r in range(table.row_count)}


async def wait_replay(pilot, screen: WorkbenchScreen) -> None:  # type: ignore[no-untyped-def]
    assert screen.replay_worker is not None
    try:
        await screen.replay_worker.wait()
    except WorkerCancelled:
        pass
    await pilot.pause(0.1)


async def edit_candidate(pilot, screen: WorkbenchScreen) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("e")
    editor = screen.query_one("#candidate", DiffTextArea)
    assert screen.focused is editor
    editor.move_cursor((editor.document.line_count - 1, 0))
    editor.insert(SELF_DEPRECATION)
    await pilot.pause()


async def test_open_filter_edit_replay_metrics(workspace: Path) -> None:
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        table = screen.query_one(ItemsTable)
        assert table.row_count == 12
        await pilot.press("3")
        assert set(cells(table, "id")) == {"i-04", "i-05"}
        await pilot.press("1")

        await edit_candidate(pilot, screen)
        base = screen.query_one("#baseline", DiffTextArea)
        cand = screen.query_one("#candidate", DiffTextArea)
        assert len(cand.changed) == 2 and base.changed == frozenset()
        assert not (workspace / "prompts/toxicity/(unsaved candidate).yaml").exists()

        await pilot.press("escape", "i", "r")
        await pilot.press("ctrl+r")  # defaults: offline target, baseline + candidate, failing items
        await wait_replay(pilot, screen)
        titles = [str(c.label) for c in table.columns.values()]
        assert "offline:production" in titles and "offline:(unsaved candidate)" in titles
        assert cells(table, "offline:production")["i-01"] == "✗"
        assert cells(table, "offline:(unsaved candidate)")["i-01"] == "✓"
        assert cells(table, "offline:production")["i-07"] == "·"  # a guard item was not replayed

        await pilot.press("5")  # flipped
        assert set(cells(table, "id")) == {"i-01", "i-02", "i-03"}
        metrics = screen.query_one(MetricsPanel)
        rows = {str(metrics.get_row_at(r)[0]).split(" ")[0]: [str(c) for c in metrics.get_row_at(r)]
                for r in range(metrics.row_count)}
        assert rows["offline:(unsaved"][10] == "3"   # fixed
        assert rows["offline:(unsaved"][11] == "0"   # regressed
        with screen.ws.store().read() as session:
            runs = q.runs_for(session, "INC-T1")
        assert {r.status for r in runs} == {"completed"} and len(runs) == 2


async def test_item_detail_shows_every_verdict(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("1", "enter")  # first row: i-01
        detail = app.screen
        verdicts = detail.query_one("#item-verdicts")
        assert verdicts.row_count == 1
        assert "idiot" in str(detail.query_one("#item-content").render())
        await pilot.press("escape")
        assert app.screen is screen


async def test_save_candidate_validates_and_refuses_overwrite(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await edit_candidate(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.press(*"production", "enter")  # exists: refused, dialog stays
        assert "already exists" in str(app.screen.query_one("#save-error").render())
        await pilot.press(*["backspace"] * 10, *"v2", "enter")
        assert app.screen is screen
        saved = workspace / "prompts/toxicity/v2.yaml"
        assert SELF_DEPRECATION in saved.read_text()
        assert "self_deprecation" not in (workspace / "prompts/toxicity/production.yaml").read_text()

        screen.query_one(PromptEditors).set_candidate("name: broken\nlabels: [a]\n")
        await pilot.press("ctrl+s", *"bad", "enter")
        assert "user" in str(app.screen.query_one("#save-error").render())
        assert not (workspace / "prompts/toxicity/bad.yaml").exists()


async def test_cancel_keeps_finished_results(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow target (the offline rules, one call at a time, 0.05 s each): escape mid-run keeps what finished."""
    from modtui.providers.rules import RulesProvider

    original = RulesProvider.complete

    async def slow(self, request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)
        return await original(self, request)

    monkeypatch.setattr(RulesProvider, "complete", slow)
    items = [json.loads(line) for line in (workspace / "incidents/INC-T1/items.jsonl").read_text().splitlines()]
    many = [{**items[n % len(items)], "id": f"x-{n:03d}"} for n in range(200)]
    (workspace / "incidents/INC-T1/items.jsonl").write_text("\n".join(json.dumps(i) for i in many) + "\n")
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await pilot.pause(0.6)
        assert screen.replaying
        await pilot.press("escape")
        await wait_replay(pilot, screen)
        assert app.screen is screen  # escape cancelled; it did not leave the workbench
        with screen.ws.store().read() as session:
            run = q.runs_for(session, "INC-T1")[0]
            kept = len(q.results_of(session, run.id))
        assert run.status == "interrupted"
        assert 0 < kept < run.items_total
        shown = [v for v in cells(screen.query_one(ItemsTable), "offline:production").values() if v != "·"]
        assert len(shown) == kept


async def test_incidents_filter_and_problem_notice(workspace: Path) -> None:
    broken = workspace / "incidents/INC-BAD"
    broken.mkdir()
    (broken / "incident.yaml").write_text("id: INC-BAD\ntitle: x\n")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        notice = app.screen.query_one("#incident-notice")
        assert notice.display and "INC-BAD" in str(notice.render())
        table = app.screen.query_one("#incidents")
        assert table.row_count == 1
        await pilot.press(*"zzz")
        assert table.row_count == 0
        await pilot.press(*["backspace"] * 3, *"self-dep")
        assert table.row_count == 1


async def test_timeline_lists_runs_newest_first(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("t")
        timeline = app.screen.query_one("#timeline")
        assert timeline.row_count == 1 and "run 1 completed" in str(timeline.get_row_at(0)[3])


async def test_small_terminal_smoke(workspace: Path) -> None:
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        screen = app.screen
        assert "-narrow" in screen.classes
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("e", "escape", "d", "m", "question_mark")
        assert app.screen.query_one("#help-keys").row_count > 5
