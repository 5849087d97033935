"""The loop a specialist repeats, driven by keys: replay, cancel midway, replay, replay again, read why a
verdict flipped, edit, quit — and the keys each screen promises in its footer."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Input
from textual.widgets._footer import FooterKey
from textual.widgets._tabbed_content import ContentTabs
from textual.worker import WorkerCancelled

from modtui.store import runs as q
from modtui.tui.app import ModtuiApp, create_app
from modtui.tui.screens.dialogs import ConfirmDialog, ReplayDialog
from modtui.tui.screens.help import HelpScreen
from modtui.tui.screens.item_detail import ItemDetailScreen
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.items_table import ItemsTable
from modtui.tui.widgets.prompt_editors import DiffTextArea, PromptEditors
from modtui.tui.widgets.tables import typing_in
from modtui.workspace import Workspace

try:
    from fakeserver import Reply, verdict_text
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Reply, verdict_text
from conftest import burst, toxicity_model, until

RATIONALE = {  # long enough to wrap several times at 120 columns, with an end that shows whether it was cut
    "toxic": (
        "The post addresses another person with an insult, and nothing in the surrounding words softens it "
        "into a joke about the author; under the harassment policy an insult aimed at someone else is removed "
        "even when it is mild, so the verdict is toxic. Last words of the toxic rationale."
    ),
    "ok": (
        "The author is talking about themself: calling oneself an idiot after a mistake is self-deprecation, "
        "which the candidate policy names as an exception, and no other person is the target of the words; "
        "so the post stays up. Last words of the ok rationale."
    ),
}


class Notes:
    """Every notification the app raised (title, message, severity), however briefly it was shown."""

    def __init__(self, app: ModtuiApp) -> None:
        self.seen: list[tuple[str, str, str]] = []
        notify = app.notify

        def record(message: str, *, title: str = "", severity: str = "information", **kwargs: Any) -> None:
            self.seen.append((title, str(message), severity))
            notify(message, title=title, severity=severity, **kwargs)  # type: ignore[arg-type]

        app.notify = record  # type: ignore[method-assign]

    def errors(self) -> list[tuple[str, str, str]]:
        return [n for n in self.seen if n[2] == "error"]


def make_app(root: Path, incident: str | None = None) -> ModtuiApp:
    return create_app(Workspace.open(root), incident)


async def replay_ends(pilot: Pilot, screen: WorkbenchScreen) -> None:  # type: ignore[type-arg]
    await until(lambda: screen.replay_worker is not None, what="the dialog handled ctrl+r")
    assert screen.replay_worker is not None
    try:
        await screen.replay_worker.wait()
    except WorkerCancelled:
        pass
    await until(lambda: not screen.replaying)
    await pilot.pause()


def visible_text(app: ModtuiApp, widget: Widget | None = None) -> str:
    """What the terminal shows (of one widget's region), borders and padding dropped, whitespace collapsed."""
    strips = app.screen._compositor.render_strips()
    region = widget.region if widget is not None else app.screen.region
    lines = [
        "".join(segment.text for segment in strip.crop(region.x, region.right))
        for strip in strips[region.y : region.bottom]
    ]
    text = re.sub(r"[\u2500-\u259f]", " ", "\n".join(lines))
    return " ".join(text.split())


class Answers:
    """The fake model's replies, with long rationales; while `holding`, every request after the first
    `quick` ones is held (a slow provider) until the client gives up on it, so a cancel always lands midway."""

    def __init__(self, quick: int = 2) -> None:
        self.quick = quick
        self.holding = True
        self.calls = 0

    def __call__(self, request: Any) -> Reply:
        self.calls += 1
        label = toxicity_model(request)
        held = self.holding and self.calls > self.quick
        return Reply(text=verdict_text(label, 0.9, RATIONALE[label]), latency=60.0 if held else 0.0)


async def test_replay_cancel_replay_replay_then_why_then_quit(served_workspace: Path, fake_server: Any) -> None:
    answers = fake_server.responder = Answers(quick=2)
    app = make_app(served_workspace)
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")  # open INC-T1 from the list
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)

        await pilot.press("r", "space", "down", "space", "ctrl+r")  # untick offline, tick gpt-mini, run
        table = screen.query_one(ItemsTable)
        await until(lambda: any(v != "·" for v in table.marks("gpt-mini:production").values()))
        await pilot.press("c")  # cancel is its own key, and asks first
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await replay_ends(pilot, screen)
        with screen.ws.store().read() as session:
            runs = q.runs_for(session, "INC-T1")
            kept = {run.prompt_path.split("/")[-1]: len(q.results_of(session, run.id)) for run in runs}
        assert {r.status for r in runs} == {"interrupted"} and len(runs) == 2
        assert 0 < sum(kept.values()) < sum(run.items_total for run in runs)  # what finished is kept, and shown
        for column, name in (("gpt-mini:production", "production.yaml"), ("gpt-mini:candidate", "candidate.yaml")):
            assert len([v for v in table.marks(column).values() if v != "·"]) == kept[name]

        answers.holding = False
        await pilot.press("r")  # the dialog remembers the last choice
        dialog = app.screen
        assert isinstance(dialog, ReplayDialog)
        assert {b.name: b.value for b in dialog.query(Checkbox)} == {
            "offline": False,
            "gpt-mini": True,
            "claude": False,
        }
        await pilot.press("ctrl+r")
        await replay_ends(pilot, screen)  # resumes the interrupted runs (same run ids: no duplicate widgets)
        await pilot.press("r", "ctrl+r")
        await replay_ends(pilot, screen)
        with screen.ws.store().read() as session:
            runs = q.runs_for(session, "INC-T1")
        assert {r.status for r in runs} == {"completed"} and len(runs) == 4
        stats = [visible_text(app, label) for label in screen.query(".run-stats")]
        assert stats and all("cached" in s and "/s" not in s for s in stats), stats  # the cache answered: no rate
        assert not notes.errors(), notes.errors()
        assert [n[1] for n in notes.seen].count("Replay finished.") == 2

        await pilot.press("5", "enter")  # flipped, the first: i-01
        detail = app.screen
        assert isinstance(detail, ItemDetailScreen)
        assert [p.change for p in detail.flips] == ["fixed"]
        baseline, candidate = detail.query(".flip-pair .verdict")
        assert baseline.region.y == candidate.region.y  # side by side
        assert RATIONALE["toxic"] in visible_text(app, baseline)  # each whole, on screen
        assert RATIONALE["ok"] in visible_text(app, candidate)
        await pilot.press("escape")

        await pilot.press("e", "home", *"# why ", "escape")  # an edit, then out of the editor
        assert screen.query_one(PromptEditors).edited
        await pilot.press("q")  # warned, not lost
        assert app.is_running and app.screen is screen
        assert notes.seen[-1][0] == "Unsaved candidate" and notes.seen[-1][2] == "warning"
        assert not notes.errors(), notes.errors()
        await pilot.press("q")
        await until(lambda: not app.is_running)
    assert app.return_code == 0


async def test_leaving_during_a_replay_asks_first(served_workspace: Path, fake_server: Any) -> None:
    fake_server.responder = Answers(quick=0)  # nothing ends until the replay is cancelled
    app = make_app(served_workspace, "INC-T1")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("r", "space", "down", "space", "ctrl+r")
        await until(lambda: fake_server.count() > 0)
        await pilot.press("/", *"idiot", "escape")  # escape leaves the search box; the replay runs on
        assert screen.replaying and screen.focused is screen.query_one(ItemsTable)
        assert screen.search == "idiot"
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # stay: the replay goes on
        assert app.screen is screen and screen.replaying
        await pilot.press("escape")  # clears the search (the innermost thing), does not leave
        assert app.screen is screen and screen.search == "" and screen.replaying
        await pilot.press("escape")  # leaving asks too
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await until(lambda: not isinstance(app.screen, (ConfirmDialog, WorkbenchScreen)))
        with Workspace.open(served_workspace).store().read() as session:
            runs = q.runs_for(session, "INC-T1")
        assert {r.status for r in runs} == {"interrupted"}  # cancelled and recorded before leaving


async def test_incident_list_keys_are_not_typed_into_the_filter(workspace: Path) -> None:
    second = workspace / "incidents/INC-T2"
    shutil.copytree(workspace / "incidents/INC-T1", second)
    yaml = second / "incident.yaml"
    yaml.write_text(yaml.read_text().replace("id: INC-T1", "id: INC-T2"))
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        table, box = screen.query_one("#incidents"), screen.query_one("#incident-filter", Input)
        await pilot.press("j")
        assert table.cursor_row == 1 and box.value == ""
        await until(lambda: "Quit" in visible_text(app))  # the footer is drawn once a key arrives
        assert "q Quit ? Help" in visible_text(app)  # whole, at 80 columns
        await pilot.press("k")
        assert table.cursor_row == 0 and box.value == ""
        await pilot.press("G")
        assert table.cursor_row == 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and box.value == ""
        await pilot.press("escape")
        await pilot.press(*"zz")  # a key no binding claims starts the filter
        assert box.value == "zz" and table.row_count == 0
        assert "no incidents match" in visible_text(app)
        await pilot.press("q")  # in the box, q is a letter
        assert box.value == "zzq" and app.is_running
        await pilot.press("escape", "escape")  # out of the box, then the filter is cleared
        assert box.value == "" and table.row_count == 2
        await pilot.press("q")
        await until(lambda: not app.is_running)


async def test_a_sample_incident_counts_its_items_in_the_list(workspace: Path) -> None:
    """A production sample has no false positives, negatives or guards: the list says how many items it holds."""
    sample = workspace / "incidents/INC-S1"
    sample.mkdir()
    header = (workspace / "incidents/INC-T1/incident.yaml").read_text().replace("id: INC-T1", "id: INC-S1")
    (sample / "incident.yaml").write_text(header + "kind: sample\n")
    rows = [{"id": f"s-{n:04d}", "content": f"post {n}", "expected": "ok"} for n in range(1200)]
    (sample / "items.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        counts = {str(table.get_row_at(n)[0]): str(table.get_row_at(n)[4]) for n in range(table.row_count)}
        assert counts == {"INC-T1": "3/2/5", "INC-S1": "1,200 sample"}


async def test_keys_that_arrive_at_once_are_taken_in_order(workspace: Path) -> None:
    for n, title in ((2, "Second incident"), (3, "Burst target")):
        copy = workspace / f"incidents/INC-T{n}"
        shutil.copytree(workspace / "incidents/INC-T1", copy)
        yaml = copy / "incident.yaml"
        text = yaml.read_text().replace("id: INC-T1", f"id: INC-T{n}")
        yaml.write_text(text.replace("title: Self-deprecating jokes removed as insults", f"title: {title}"))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        burst(app, "down", "down", "enter")  # the table's cursor keys are taken before enter opens the row
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the workbench opened")
        assert app.screen.data.loaded.id == "INC-T3"
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, WorkbenchScreen), what="back on the list")
        burst(app, "g", *"second", "enter")  # the letters reach the filter before enter opens what it kept
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the workbench opened again")
        assert app.screen.data.loaded.id == "INC-T2"
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, WorkbenchScreen), what="back on the list again")
        assert app.screen.query_one("#incident-filter", Input).value == "second"


async def test_tab_moves_focus_until_the_user_types_in_the_editor(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        editors = screen.query_one(PromptEditors)
        candidate = screen.query_one("#candidate", DiffTextArea)
        before = editors.candidate_text
        await pilot.press("e")
        assert screen.focused is candidate
        await pilot.press("tab")
        assert screen.focused is not candidate and editors.candidate_text == before and not editors.edited
        await pilot.press("e", "end", "x", "tab")  # typing: now tab indents
        assert screen.focused is candidate and editors.candidate_text != before
        after = editors.candidate_text  # an x, then the indent tab inserted
        assert after.replace("x", "", 1).replace(" ", "") == before.replace(" ", "")
        assert after.count(" ") > before.count(" ")
        await pilot.press("escape")  # out of the editor; the workbench keys work again
        assert screen.focused is not candidate
        await pilot.press("d")
        assert editors.diff_mode
        await pilot.press("escape")  # the diff closes first
        assert not editors.diff_mode and app.screen is screen
        assert not typing_in(screen.focused)  # so the next q quits instead of typing a q into the candidate


async def test_tables_take_vim_keys_and_an_empty_filter_says_so(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(ItemsTable)
        last, down = table.row_count - 1, -1  # down: anywhere below the first row
        # vim's keys, then the keys a DataTable takes, on this line-drawn table too
        moves = [("j", "j"), ("k",), ("G",), ("g",), ("ctrl+d",), ("ctrl+u",)]
        moves += [("down", "down", "up"), ("end",), ("home",), ("pagedown",), ("pageup",)]
        for keys, row in zip(moves, [2, 1, last, 0, down, 0, 1, last, 0, down, 0]):
            await pilot.press(*keys)
            assert table.cursor > 0 if row == down else table.cursor == row, (keys, table.cursor)
        await pilot.press("/", *"nosuchwords", "enter")
        assert table.row_count == 0
        assert "no items match" in visible_text(app)


async def test_finding_is_in_the_footer_and_the_palette(workspace: Path) -> None:
    from textual.command import CommandPalette

    from modtui.tui.screens.finding_dialogs import FindingDialog

    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        assert "f Finding" in visible_text(app) and "d Diff" in visible_text(app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"finding")
        await until(lambda: "Finding" in visible_text(app))
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, FindingDialog))


async def test_the_footer_follows_the_focused_widgets_keys(workspace: Path) -> None:
    """The footer shows the keys of what has focus, and makes its keys again only when those change (a focus
    move between widgets with the same keys, or a cursor move, leaves the same key widgets in place)."""
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        footer = screen.query_one(KeysFooter)
        await until(lambda: "r Replay" in visible_text(app, footer))
        keys = list(footer.query(FooterKey))
        await pilot.press("down", "tab")  # the items table's cursor, then the tabs: the same keys
        assert isinstance(screen.focused, ContentTabs) and list(footer.query(FooterKey)) == keys
        await pilot.press("tab")  # the search box: typing keys are not shown
        await until(lambda: "^s Save" in visible_text(app, footer) and "q Quit" not in visible_text(app, footer))
        await pilot.press("escape", "m")  # the metrics table adds its row keys
        await until(lambda: "q Quit ? Help ↑↓ Plot row r Replay" in visible_text(app, footer))
        await pilot.press("i")
        await until(lambda: "Plot row" not in visible_text(app, footer) and "r Replay" in visible_text(app, footer))


async def test_the_narrow_footer_keeps_keys_apart_and_the_palette_key_at_the_edge(workspace: Path) -> None:
    """At 80 columns the footer is compact: a key group's label still has a space before the next key, and the
    command palette's key reaches the right edge (no key scrolled under it shows through its last column)."""
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(80, 24)) as pilot:
        footer = app.screen.query_one(KeysFooter)
        await pilot.press("m")
        await until(lambda: "Plot row" in visible_text(app, footer))
        strip = app.screen._compositor.render_strips()[footer.region.y]
        line = "".join(segment.text for segment in strip.crop(0, footer.region.right))
        assert "Plot row r Replay" in line
        assert line.rstrip().endswith("^p Commands"), line
        palette = next(key for key in footer.query(FooterKey) if key.has_class("-command-palette"))
        assert palette.region.right == footer.region.right


DOC_NAMES = {"slash": "/", "question_mark": "?"}


def documented(key: str, page: str) -> bool:
    key = DOC_NAMES.get(key, key)
    return f"`{key}`" in page or (key.isdigit() and "`1`…`9`" in page)


async def test_the_key_reference_lists_every_key_the_footer_and_help_show(workspace: Path) -> None:
    """docs/tui.md names every key of the incident list's and the workbench's help; the README's short
    table names only keys that exist."""
    from modtui.tui.keys import screen_keys

    root = Path(__file__).parent.parent
    reference = (root / "docs/tui.md").read_text(encoding="utf-8")
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        bound: set[str] = set()
        for screen in app.screen_stack[1:]:
            for key in screen_keys(app, screen):
                assert documented(key.binding.key, reference), (
                    f"{key.binding.key} ({key.description}) is not in docs/tui.md"
                )
            bound |= {DOC_NAMES.get(b.binding.key, b.binding.key) for b in screen.active_bindings.values()}
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| where | key | action |") :]
    table = table[: table.index("\n\n")]
    named = {k for k in re.findall(r"`([^`]+)`", table) if k != "1`…`9"}
    from modtui.tui.screens.dialogs import ReplayDialog
    from modtui.tui.widgets.tables import NAVIGATION

    bound |= {b.key for b in NAVIGATION} | {"c", "ctrl+r", "enter"} | {b.key for b in ReplayDialog.BINDINGS}  # type: ignore[union-attr]
    assert named - {"1", "9"} <= bound, named - bound


async def test_editors_scroll_together_and_wrap_toggles(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        baseline = screen.query_one("#baseline", DiffTextArea)
        candidate = screen.query_one("#candidate", DiffTextArea)
        await pilot.press("e")
        assert candidate.soft_wrap and baseline.soft_wrap
        candidate.scroll_to(y=4, animate=False)
        await until(lambda: candidate.top_line() > 0)
        await until(lambda: baseline.top_line() == candidate.top_line())
        await pilot.press("escape", "w")  # out of the editor, then no wrapping: both sides
        assert not candidate.soft_wrap and not baseline.soft_wrap

        def scrolled_together() -> bool:
            # the unwrapped layout may land after a first scroll (a loaded machine) and move the baseline back:
            # scroll it again until it stays; the candidate must follow it each time
            if baseline.scroll_y != 1:
                baseline.scroll_to(y=1, animate=False)
            return candidate.top_line() == baseline.top_line() == 1

        await until(scrolled_together)


async def test_notifications_rise_above_the_progress_bars(workspace: Path) -> None:
    from textual.widgets._toast import ToastRack

    from modtui.tui.widgets.replay_progress import ReplayProgress

    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await replay_ends(pilot, screen)
        bars = screen.query_one(ReplayProgress)
        rack = screen.get_child_by_type(ToastRack)
        await until(lambda: rack.styles.margin.bottom == 1 + bars.outer_size.height > 1)
        await pilot.press("m")  # a finished replay's bars give way on a tab change; the toasts follow them down
        await until(lambda: not bars.display and rack.styles.margin.bottom == 1)
