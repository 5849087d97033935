"""Defects found by using the TUI as a trust & safety specialist would: each test presses the keys that hit one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Checkbox, DataTable, Input, OptionList, Select, Static
from textual.widgets._select import SelectOverlay

from conftest import INCIDENT_ID, until
from modtui.services import findings as svc
from modtui.tui.app import ModtuiApp, create_app
from modtui.tui.screens.dialogs import OpenPromptDialog
from modtui.tui.screens.finding_dialogs import FindingDialog, ResolveDialog
from modtui.tui.screens.help import HelpScreen
from modtui.tui.screens.item_detail import ItemDetailScreen
from modtui.tui.screens.timeline import TimelineScreen
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.items_table import ItemsTable
from modtui.tui.widgets.prompt_editors import PromptEditors
from modtui.tui.widgets.slices_table import SlicesTable
from modtui.workspace import Workspace
from test_untrusted_content import raw_controls

MARKUP = "[/] [bold red]loud[/]"  # Rich/Textual markup: an unmatched closing tag is a MarkupError when parsed


def make_app(root: Path) -> ModtuiApp:
    return create_app(Workspace.open(root), INCIDENT_ID)


def _retitle(root: Path, title: str) -> None:
    path = root / "incidents" / INCIDENT_ID / "incident.yaml"
    text = path.read_text()
    old = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(old, f"title: {title!r}".replace("'", '"')))


async def test_help_on_an_incident_whose_title_looks_like_markup(workspace: Path) -> None:
    """`?` on the workbench titled with '[/]' raised MarkupError and the app died; the title is shown as written."""
    _retitle(workspace, f"Slurs {MARKUP}")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, WorkbenchScreen)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="the help opened")
        await pilot.pause()
        title = app.screen.query_one(".dialog-title", Static)
        assert f"Slurs {MARKUP}" in str(title.render())
        await pilot.press("escape")
        assert isinstance(app.screen, WorkbenchScreen)
    assert app.return_value is None and app._exit_renderables == []


async def test_opening_an_unreadable_prompt_named_like_markup(workspace: Path) -> None:
    """`o` lists a prompt file whose name holds markup and an escape; choosing it (not UTF-8) says why it cannot be
    opened: the list showed the escape raw and the notification read the name as markup (the tag vanished)."""
    name = "odd[red]\x1b[31m.yaml"
    bad = workspace / "prompts" / "toxicity" / name
    bad.write_bytes(b"name: x\n\xff\xfe\n")
    os.utime(bad, (1_000_000_000, 1_000_000_000))  # older than the candidate: the editor starts from that one
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, OpenPromptDialog), what="the open dialog")
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert not [s for s in shown if raw_controls(s)], shown
        index = next(i for i, s in enumerate(shown) if s.startswith("odd"))
        options.highlighted = index
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the dialog closed")
        await until(lambda: list(app._notifications), what="the notification")
        note = next(iter(app._notifications))
        assert note.title == "Cannot open the prompt" and "odd[red]" in note.message
        assert not note.markup and not raw_controls(note.message)  # shown as written: the tag is text
    assert app._exit_renderables == []


async def test_resolve_dialog_fits_80x24_and_says_its_keys(workspace: Path) -> None:
    """x on a finding at 80x24: the 'rejected' checkbox's label ran past the dialog's edge ('…corrections' and the
    rest cut) and nothing said that enter saves; every line is whole now and the keys are written in the dialog."""
    ws = Workspace.open(workspace)
    svc.add(ws, svc.NewFinding(INCIDENT_ID, "policy_gap", "threats read as banter", "ana", [], [], None, []))
    ws.close()
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen), what="the timeline")
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ResolveDialog), what="the resolve dialog")
        await pilot.pause()
        dialog = app.screen
        inside = dialog.query_one("#resolve-dialog").content_region
        for box in dialog.query(Checkbox):
            whole = box.content_region.x + cell_len("▐X▌ ") + box.label.cell_length
            assert whole <= inside.right, (box.label, whole, inside)
        said = " ".join(str(s.render()) for s in dialog.query(Static))
        assert "enter" in said and "esc" in said
        await pilot.press("escape")
        assert isinstance(app.screen, TimelineScreen)


async def test_an_unreadable_prompt_file_does_not_lock_the_incident(workspace: Path) -> None:
    """A newest prompt file of the policy that is not UTF-8 (a stray export, a half-written save): enter on the
    incident said 'Cannot open INC-T1' and no incident of that policy could be opened. The workbench opens, the
    candidate starts from the newest file that reads, and a warning names the one skipped."""
    broken = workspace / "prompts" / "toxicity" / "zz-broken.yaml"
    broken.write_bytes(b"name: x\n\xff\n")
    app = create_app(Workspace.open(workspace))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the workbench opened")
        editors = app.screen.query_one(PromptEditors)
        assert editors.source is not None and editors.source[0] == "prompts/toxicity/candidate.yaml"
        await until(lambda: list(app._notifications), what="the warning")
        note = next(iter(app._notifications))
        assert note.severity == "warning" and "prompts/toxicity/zz-broken.yaml" in note.message


async def test_home_and_end_go_to_the_first_and_last_row_in_every_table(workspace: Path) -> None:
    """End on the items table goes to the last row, as in less; on the help's keys, the incidents list, the timeline
    and the precedents (DataTables) it scrolled sideways only and the cursor stayed where it was."""
    app = create_app(Workspace.open(workspace))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="the help")
        keys = app.screen.query_one(DataTable)
        assert keys.row_count > 3 and keys.cursor_row == 0
        await pilot.press("end")
        assert keys.cursor_row == keys.row_count - 1
        await pilot.press("home")
        assert keys.cursor_row == 0
        await pilot.press("escape", "enter")
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the workbench")
        items = app.screen.query_one(ItemsTable)
        await pilot.press("end")
        assert items.selected_item_id() == app.screen.data.loaded.items[-1].id  # its twin, as it was


async def test_the_diff_view_scrolls_with_the_readers_keys(workspace: Path) -> None:
    """d shows the unified diff; j/k, g/G and ctrl+d/ctrl+u did nothing there (only arrows and pgup/pgdn moved it),
    while the item detail and the content pager, the other pages read by scrolling, take them."""
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        editors = screen.query_one(PromptEditors)
        editors.set_candidate("\n".join(f"rule_{n}: added line {n}" for n in range(60)))  # a diff of 60+ lines
        await pilot.press("d")
        await pilot.pause()
        view = editors.query_one("#diff-view")
        assert app.focused is view and view.max_scroll_y > 0
        await pilot.press("G")
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("g", "j", "j")
        assert view.scroll_y == 2
        await pilot.press("ctrl+d")
        assert view.scroll_y > 2
        await pilot.press("ctrl+u", "k", "k")
        assert view.scroll_y == 0
        await pilot.press("escape")  # closes the diff, as before
        assert not editors.diff_mode


def _relabel(root: Path, old: str, new: str) -> None:
    """The test incident and its policy's prompts with the label `old` renamed `new` (quoted in YAML)."""
    for path in [*root.glob(f"incidents/{INCIDENT_ID}/*"), *root.glob("prompts/toxicity/*")]:
        written = repr(new) if path.suffix == ".yaml" else new
        path.write_text(path.read_text().replace(old, written).replace(written + "ity", old + "ity"))


async def test_a_label_that_looks_like_markup(workspace: Path) -> None:
    """An incident whose positive label holds '[/]': opening its workbench raised MarkupError in the metrics note
    and the app died. It opens, replays, and the metrics, slices, item detail and finding dialog show the label."""
    label = "tox[/]ic"
    _relabel(workspace, "toxic", label)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen) and screen.matrix.positive == label
        await pilot.press("r", "ctrl+r")
        await until(lambda: screen.replay_worker is not None, what="the replay started")
        assert screen.replay_worker is not None
        await screen.replay_worker.wait()
        await pilot.press("m", "p", "p", "tab", "b", "enter")
        assert f"positive label: {label}" in str(screen.query_one("#metrics-note", Static).render())
        await pilot.press("1", "enter")
        await until(lambda: isinstance(app.screen, ItemDetailScreen), what="the item detail")
        await pilot.press("escape", "t", "f")
        await until(lambda: isinstance(app.screen, FindingDialog), what="the finding dialog")
    assert app._exit_renderables == []


async def test_the_slice_view_moves_with_the_table_keys(workspace: Path) -> None:
    """tab into the slice view: j/k, g/G and home/end did nothing there (it was a bare DataTable), while every other
    table takes them."""
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        await pilot.press("r", "ctrl+r")
        await until(lambda: screen.replay_worker is not None, what="the replay started")
        assert screen.replay_worker is not None
        await screen.replay_worker.wait()
        await pilot.press("m", "tab")
        slices = screen.query_one(SlicesTable)
        await until(lambda: slices.row_count > 1, what="two slices or more")
        await until(lambda: app.focused is slices, what="the slice view focused")
        await pilot.press("G")
        assert slices.cursor_row == slices.row_count - 1
        await pilot.press("g", "j")
        assert slices.cursor_row == 1
        await pilot.press("k", "end")
        assert slices.cursor_row == slices.row_count - 1
        await pilot.press("home")
        assert slices.cursor_row == 0


async def test_the_open_prompt_list_moves_with_j_and_k(workspace: Path) -> None:
    """o lists the policy's prompt files: j/k (and g/G) did nothing there, so 'o j enter' opened the first file."""
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, OpenPromptDialog), what="the open dialog")
        files = app.screen.query_one(OptionList)
        assert files.option_count == 2 and files.highlighted == 0
        second = files.get_option_at_index(1).id
        await pilot.press("j", "k", "G")
        assert files.highlighted == 1
        await pilot.press("g", "j", "enter")
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the dialog closed")
        editors = app.screen.query_one(PromptEditors)
        assert editors.source is not None and editors.source[0] == second


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_help_shows_its_hints(workspace: Path, size: tuple[int, int]) -> None:
    """? on the workbench of an incident with a long title: the keys filled the box and the lines under them (the
    table keys, ctrl+p, escape) were cut off with no way to scroll to them (at 80x24 all of them, at 120x36 the
    last); now the keys scroll and the hints stay in the box."""
    _retitle(workspace, "Self-deprecating jokes removed as insults " * 3)
    app = make_app(workspace)
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="the help")
        await pilot.pause()
        box = app.screen.query_one("#help-box").content_region
        keys = app.screen.query_one("#help-keys", DataTable)
        hint = app.screen.query_one("#help-hint", Static)
        assert "ctrl+p" in str(hint.render())
        assert hint.region.height >= 2 and box.contains_region(hint.region), (hint.region, box)
        assert not keys.region.overlaps(hint.region)
        await pilot.press("end")  # the keys scroll to their last row
        assert keys.cursor_row == keys.row_count - 1
        assert keys.scroll_y > 0


async def test_a_root_cause_category_that_looks_like_markup(workspace: Path) -> None:
    """f with a category in modtui.toml holding '[/]' and an escape: the finding dialog raised MarkupError (the app
    died); the categories are listed as written, escapes made visible, and the finding is recorded with it."""
    odd = "odd[/]cat\x1b[31m"
    toml = workspace / "modtui.toml"
    toml.write_text(
        toml.read_text().replace("[workspace]\n", '[workspace]\ncategories = ["policy_gap", "odd[/]cat\\u001b[31m"]\n')
    )
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f")
        await until(lambda: isinstance(app.screen, FindingDialog), what="the finding dialog")
        await pilot.pause()
        dialog = app.screen
        category = dialog.query_one("#finding-category", Select)
        await pilot.press("enter")  # the list of categories opens
        await pilot.pause()
        shown = [str(o.prompt) for o in category.query_one(SelectOverlay)._options]
        assert any("odd[/]cat" in s for s in shown) and not [s for s in shown if raw_controls(s)], shown
        await pilot.press("escape")
        category.value = odd
        dialog.query_one("#finding-summary", Input).value = "a category from the workspace's own taxonomy"
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, TimelineScreen), what="the finding recorded")
    ws = Workspace.open(workspace)
    assert [f.category for f in svc.list_findings(ws, INCIDENT_ID)] == [odd]
    ws.close()
