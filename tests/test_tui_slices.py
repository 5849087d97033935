"""The metrics tab's slice view and reliability diagram, the slice and disagreement filters of the items table."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from rich.text import Text

from modtui.analysis.agreement import agreement
from modtui.analysis.calibration import calibration
from modtui.analysis.slices import NONE, several, slice_metrics, single
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.items_table import ItemsTable
from modtui.tui.widgets.metrics_panel import ReliabilityPlot
from modtui.tui.widgets.slices_table import SlicesTable
from tests.test_tui import make_app, replayed, wait_replay


def db_path(screen: WorkbenchScreen) -> str:
    return screen.ws.store().engine.url.database  # type: ignore[no-any-return]


def slice_rows(table: SlicesTable) -> dict[str, list[Text]]:
    return {str(table.get_row_at(r)[0]): list(table.get_row_at(r)) for r in range(table.row_count)}


async def test_slices_follow_the_key_and_filter_the_items(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await replayed(pilot)
        await pilot.press("m", "tab")
        table = screen.query_one(SlicesTable)
        assert screen.focused is table and screen.slices.by == "rule"  # first: the rules the verdicts cited
        column = screen.matrix.columns[-1]  # the candidate: the highlighted metrics row
        scored = screen.matrix.scored_items(column)
        with sqlite3.connect(db_path(screen)) as db:
            cited = {
                item: json.loads(rules)
                for item, rules in db.execute(
                    "SELECT item_id, rules_json FROM result WHERE run_id = ?", (column.run_ids[-1],)
                )
            }
        by_rule = slice_metrics(scored, several(cited), "toxic", cited_fp=True)
        assert by_rule and list(slice_rows(table)) == [s.key for s in by_rule]
        assert {s.key for s in by_rule} - {NONE} == {r for rs in cited.values() for r in rs}
        await pilot.press("b")
        assert screen.slices.by == "kind"
        kinds = {i.id: i.kind.value for i in screen.data.loaded.items if i.kind}
        want = slice_metrics(scored, single(kinds), "toxic")
        rows = slice_rows(table)
        assert list(rows) == [s.key for s in want]  # most errors first
        for s in want:
            cells = rows[s.key]
            assert str(cells[1]) == str(s.metrics.items) and str(cells[2]) == str(s.metrics.fp)
            if s.metrics.precision is not None and s.metrics.precision_ci is not None:
                lo, hi = s.metrics.precision_ci
                assert str(cells[4]) == f"{s.metrics.precision:.3f} [{lo:.2f}–{hi:.2f}]"
            assert all(c.style == "dim" for c in cells) == s.small  # every slice of 5 items is small
        cal = calibration(scored, "toxic")
        assert cal is not None and screen.query_one(ReliabilityPlot).display
        assert str(screen.query_one("#reliability-caption").render()).startswith(f"ECE {cal.ece:.3f} over")

        await pilot.press("b", "b")  # kind → cluster → meta.locale
        assert screen.slices.by == "meta.locale"
        assert set(slice_rows(table)) == {"en-US", NONE}
        table.move_cursor(row=list(slice_rows(table)).index("en-US"))
        await pilot.press("enter")
        items = screen.query_one(ItemsTable)
        assert screen.which == "slice" and items.shown_ids() == ["i-01"] and screen.focused is items
        assert "slice meta.locale = en-US: 1 of 12" in str(screen.query_one("#items-status").render())

        await pilot.press("m", "tab", "b", "b", "b", "b", "b", "b", "b")  # all the way round to kind again
        assert screen.slices.by in screen.slices.keys
        while screen.slices.by != "kind":
            await pilot.press("b")
        table.move_cursor(row=list(slice_rows(table)).index("false_negative"))
        await pilot.press("enter")
        assert set(items.shown_ids()) == {"i-04", "i-05"}
        await pilot.press("1")
        assert items.row_count == 12 and screen.which == "all"


async def test_disagreement_filter_shows_items_whose_annotators_disagree(workspace: Path) -> None:
    path = workspace / "incidents/INC-T1/items.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    for i, row in enumerate(rows):
        row["annotations"] = [
            {"annotator": "ana", "label": row["expected"]},
            {"annotator": "bo", "label": "toxic" if i % 4 == 0 else row["expected"]},
        ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    want = agreement({r["id"]: {a["annotator"]: a["label"] for a in r["annotations"]} for r in rows}).disagreements
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        assert "8 disagree" in str(screen.query_one("#items-status").render())
        await pilot.press("8")
        items = screen.query_one(ItemsTable)
        assert tuple(items.shown_ids()) == want and want
        assert "annotators disagree: " in str(screen.query_one("#items-status").render())


async def test_a_large_incidents_slice_view_is_built_after_the_first_paint(workspace: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Above SYNC_SLICE_ITEMS items the slice view (item facts, keys, disagreements) is built in a thread once the
    items are drawn; the metrics tab's slices and the slice filter then work as on a small incident."""
    import modtui.tui.screens.workbench as workbench
    from tests.conftest import until

    monkeypatch.setattr(workbench, "SYNC_SLICE_ITEMS", 0)
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen) and screen.query_one(ItemsTable).row_count == 12
        await until(lambda: screen.slices is not None, what="the slice view built after the first paint")
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("m", "tab", "b")
        assert screen.slices is not None and screen.slices.by == "kind"
        table = screen.query_one(SlicesTable)
        await until(lambda: bool(slice_rows(table)), what="the slices of the highlighted row")
        kinds = {i.id: i.kind.value for i in screen.data.loaded.items if i.kind}
        column = screen.matrix.columns[-1]
        want = slice_metrics(screen.matrix.scored_items(column), single(kinds), "toxic")
        assert list(slice_rows(table)) == [s.key for s in want]
        await pilot.press("enter")
        assert screen.which == "slice" and "slice kind = " in str(screen.query_one("#items-status").render())


async def test_a_slice_of_a_run_over_part_of_the_incident_shows_the_items_it_counted(
    workspace: Path, run_cli: Any
) -> None:
    """A run over the failing items only: its slice 'meta.locale = (none)' counts the failing items without a locale,
    and enter shows those, not every item of the incident without one."""
    replayed = await asyncio.to_thread(run_cli, workspace, "replay", "INC-T1", "-m", "offline", "--items", "failing")
    assert replayed.exit_code == 0, replayed.output
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        await pilot.press("m", "tab", "b", "b", "b")  # rule → kind → cluster → meta.locale
        await pilot.pause()
        table = screen.query_one(SlicesTable)
        assert screen.slices is not None and screen.slices.by == "meta.locale"
        rows = slice_rows(table)
        counted = int(str(rows[NONE][1]))
        failing = {
            i.id for i in screen.data.loaded.items if i.kind and i.kind.value in ("false_positive", "false_negative")
        }
        without_locale = {i.id for i in screen.data.loaded.items if "locale" not in i.meta}
        assert counted == len(failing & without_locale) < len(without_locale)
        table.move_cursor(row=list(rows).index(NONE))
        await pilot.press("enter")
        await pilot.pause()
        shown = screen.query_one(ItemsTable).shown_ids()
        assert sorted(shown) == sorted(failing & without_locale)
        assert f": {counted} of 12" in str(screen.query_one("#items-status").render())
