"""The TUI driven as a specialist would: keys in, widgets and the log checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Checkbox, OptionList
from textual.worker import WorkerCancelled

from conftest import burst, until
from modtui.store import runs as q
from modtui.store.tables import PromptVersionRow
from modtui.tui.app import ModtuiApp, create_app
from modtui.tui.keys import screen_keys
from modtui.tui.screens.help import HelpScreen
from modtui.tui.screens.timeline import TimelineScreen
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets.items_table import ItemsTable
from modtui.tui.widgets.metrics_panel import MetricsPanel, SweepPlot
from modtui.tui.widgets.prompt_editors import DiffTextArea, PromptEditors
from modtui.workspace import Workspace

SELF_DEPRECATION = "    - name: self_deprecation\n      terms: [i am an idiot, i'm an idiot]\n"


def make_app(root: Path, incident: str | None = None) -> ModtuiApp:
    ws = Workspace.open(root)
    return create_app(ws, incident)


def metrics_rows(screen: WorkbenchScreen) -> dict[str, list[str]]:
    metrics = screen.query_one(MetricsPanel)
    rows = {}
    for r in range(metrics.row_count):
        cells = [str(c).strip() for c in metrics.get_row_at(r)]
        target, prompt = (line.strip() for line in cells[0].split("\n"))  # the target over the prompt
        rows[f"{target}:{prompt}".split(" ")[0]] = cells
    return rows


async def wait_replay(pilot, screen: WorkbenchScreen) -> None:  # type: ignore[no-untyped-def]
    await until(lambda: screen.replay_worker is not None, what="the replay started (the dialog handled ctrl+r)")
    assert screen.replay_worker is not None
    try:
        await screen.replay_worker.wait()
    except WorkerCancelled:
        pass
    await pilot.pause()  # the screen has handled the worker's end (and re-read the log)
    await until(lambda: not screen.data.matrix_pending, what="the verdicts re-read after the replay")


async def replayed(pilot) -> WorkbenchScreen:  # type: ignore[no-untyped-def]
    """The workbench the app opened on, after a replay with the dialog's defaults (r, then ctrl+r)."""
    screen = pilot.app.screen
    assert isinstance(screen, WorkbenchScreen)
    await pilot.press("r", "ctrl+r")
    await wait_replay(pilot, screen)
    return screen


async def open_prompt(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    """`o`, then the prompt file whose path ends with `name`."""
    await pilot.press("o")
    files = pilot.app.screen.query_one("#prompt-files", OptionList)
    index = next(n for n in range(files.option_count) if str(files.get_option_at_index(n).id).endswith(name))
    await pilot.press(*["down"] * index, "enter")
    await pilot.pause()


async def edit_candidate(pilot, screen: WorkbenchScreen) -> None:  # type: ignore[no-untyped-def]
    """Start the candidate from the production file, then add an exception by typing at its end."""
    await open_prompt(pilot, "production.yaml")
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
        assert set(table.shown_ids()) == {"i-04", "i-05"}
        await pilot.press("1")

        await edit_candidate(pilot, screen)
        base = screen.query_one("#baseline", DiffTextArea)
        cand = screen.query_one("#candidate", DiffTextArea)
        assert len(cand.changed) == 2 and base.changed == frozenset()
        assert "edited, unsaved" in str(screen.query_one("#candidate-title").render())
        assert not (workspace / "prompts/toxicity/(unsaved candidate).yaml").exists()

        await pilot.press("escape", "i", "r")
        await pilot.press("ctrl+r")  # defaults: offline target, baseline + candidate, failing items
        await wait_replay(pilot, screen)
        assert table.marks("offline:production")["i-01"] == "✗"
        assert table.marks("offline:(unsaved candidate)")["i-01"] == "✓"
        assert table.marks("offline:production")["i-07"] == "·"  # a guard item was not replayed

        await pilot.press("5")  # flipped
        assert set(table.shown_ids()) == {"i-01", "i-02", "i-03"}
        rows = metrics_rows(screen)
        assert rows["offline:(unsaved"][10] == "3"  # fixed
        assert rows["offline:(unsaved"][11] == "0"  # regressed
        with screen.ws.store().read() as session:
            runs = q.runs_for(session, "INC-T1")
            source = session.get(PromptVersionRow, runs[0].prompt_version).source  # type: ignore[union-attr]
        assert {r.status for r in runs} == {"completed"} and len(runs) == 2
        assert SELF_DEPRECATION in source  # the unsaved candidate's text is what the log keeps
        await pilot.press("escape")  # unsaved edits: a warning, not a silent loss
        assert app.screen is screen
        await pilot.press("escape")
        assert app.screen is not screen


async def test_candidate_starts_from_the_policy_file_and_o_opens_another(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        editors = screen.query_one(PromptEditors)
        assert editors.source and editors.source[0] == "prompts/toxicity/candidate.yaml"
        assert editors.candidate_text == (workspace / "prompts/toxicity/candidate.yaml").read_text()
        assert "candidate · prompts/toxicity/candidate.yaml · " in str(screen.query_one("#candidate-title").render())
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        table = screen.query_one(ItemsTable)
        assert table.marks("offline:candidate")["i-01"] == "✓"  # the file's name, not "(unsaved candidate)"

        await open_prompt(pilot, "production.yaml")
        assert editors.candidate_text == editors.baseline and not editors.edited
        assert screen.query_one("#candidate", DiffTextArea).changed == frozenset()


async def test_replay_against_a_fake_http_target(served_workspace: Path, fake_server: Any) -> None:
    """gpt-mini (OpenAI wire format on 127.0.0.1) instead of the offline default: chosen in the dialog by keys."""
    app = make_app(served_workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r")
        boxes = {box.name: box for box in app.screen.query(Checkbox)}
        assert list(boxes) == ["offline", "gpt-mini", "claude"] and app.screen.focused is boxes["offline"]
        await pilot.press("space", "tab", "space", "ctrl+r")  # untick offline, tick gpt-mini, run
        await wait_replay(pilot, screen)
        table = screen.query_one(ItemsTable)
        assert table.marks("gpt-mini:production")["i-01"] == "✗"
        assert table.marks("gpt-mini:candidate")["i-01"] == "✓"
        assert fake_server.count() == 2 * 5  # failing items × baseline and candidate
        rows = metrics_rows(screen)
        assert rows["gpt-mini:candidate"][10] == "3" and rows["gpt-mini:candidate"][11] == "0"
        with screen.ws.store().read() as session:
            runs = q.runs_for(session, "INC-T1")
        assert {(r.target_name, r.status) for r in runs} == {("gpt-mini", "completed")}


async def test_a_large_log_is_read_in_a_thread(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SYNC_RESULTS results the verdicts are read after the first paint; the same table comes out."""
    import modtui.tui.screens.workbench as workbench

    monkeypatch.setattr(workbench, "SYNC_RESULTS", 0)
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)  # then the log is re-read, now in a thread
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.data.matrix_pending
        table = screen.query_one(ItemsTable)
        assert table.marks("offline:production")["i-01"] == "✗" and table.marks("offline:candidate")["i-01"] == "✓"
        assert metrics_rows(screen)["offline:candidate"][10] == "3"

        await pilot.press("escape")
        app.open_incident("INC-T1")  # opened on a large log: the items first, the verdicts a moment later
        await pilot.pause()
        again = app.screen
        assert again is not screen and isinstance(again, WorkbenchScreen)
        await until(lambda: not again.data.matrix_pending, what="the verdicts read after the first paint")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert again.query_one(ItemsTable).marks("offline:candidate")["i-01"] == "✓"


async def test_item_detail_shows_every_verdict(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("1", "enter")  # first row: i-01
        detail = app.screen
        blocks = detail.query("#item-verdicts .verdict")
        assert len(blocks) == 2  # baseline and candidate, newest first
        assert "candidate.yaml" in str(blocks[0].render()) and "production.yaml" in str(blocks[1].render())
        assert "idiot" in str(detail.query_one("#item-content").render())
        await pilot.press("escape")
        assert app.screen is screen


async def test_metrics_plot_follows_the_highlighted_row(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r", "ctrl+r")
        await wait_replay(pilot, screen)
        await pilot.press("m")
        plot, caption = screen.query_one(SweepPlot), screen.query_one("#sweep-caption")
        assert screen.focused is screen.query_one(MetricsPanel)
        assert plot.display and "offline:candidate: 5 of 5 items scored" in str(caption.render())
        assert str(caption.render()).startswith("━ precision  ━ recall")  # the legend is beside the plot, not on it
        await pilot.press("up")
        assert "offline:production: " in str(caption.render())
        column = screen.matrix.columns[0]
        best = screen.matrix.sweep(column).best  # type: ignore[union-attr]
        assert f"best F1 {best.f1:.3f}" in str(caption.render())


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
        assert "candidate · prompts/toxicity/v2.yaml" in str(screen.query_one("#candidate-title").render())

        screen.query_one(PromptEditors).set_candidate("name: broken\nlabels: [a]\n")
        await pilot.press("ctrl+s", *"bad", "enter")
        assert "user" in str(app.screen.query_one("#save-error").render())
        assert not (workspace / "prompts/toxicity/bad.yaml").exists()
        await pilot.press("escape")
        screen.query_one(PromptEditors).set_candidate(saved.read_text(), source="prompts/toxicity/v2.yaml")
        await pilot.press("escape", "escape")  # out of the editor, then back: saved, so it leaves at once
        assert app.screen is not screen


async def test_typed_fast_then_saved(workspace: Path) -> None:
    """An edit, ctrl+s and the file name arriving in one burst (a fast typist, a script): each lands where the
    user meant it, in order: the edit in the candidate, the name in the save dialog."""
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await open_prompt(pilot, "production.yaml")
        editor = screen.query_one("#candidate", DiffTextArea)
        editor.move_cursor((editor.document.line_count - 1, 0))
        burst(app, "#", "space", *"fast", "ctrl+s", *"fast", "enter")
        saved = workspace / "prompts/toxicity/fast.yaml"
        await until(saved.exists, what="the candidate saved as fast.yaml")
        assert saved.read_text().rstrip().endswith("# fast")
        await until(lambda: app.screen is screen, what="the dialog closed")


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
        assert timeline.row_count == 2
        assert "run 2 completed" in str(timeline.get_row_at(0)[3]) and "run 1 completed" in str(
            timeline.get_row_at(1)[3]
        )


async def test_command_palette_runs_an_action(workspace: Path) -> None:
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        workbench = app.screen
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"timeline")
        commands = app.screen.query_one(CommandList)
        await until(lambda: commands.option_count > 0, what="the palette lists the timeline command")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, TimelineScreen), what="the timeline opens")
        await pilot.press("escape")
        assert app.screen is workbench


async def test_every_key_is_in_the_palette_and_in_help(workspace: Path) -> None:
    """On each screen: every modtui binding is a palette command and a row of `?` help."""
    app = make_app(workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        incidents, workbench = app.screen_stack[-2], app.screen
        for screen in (incidents, workbench):
            ours = {
                a.binding.description
                for a in screen.active_bindings.values()  # those not hidden now
                if a.binding in type(screen).BINDINGS and a.binding.description
            }
            assert len(ours) >= 5
            keys = {k.description for k in screen_keys(app, screen)}
            assert ours <= keys, ours - keys
            commands = {c.title for c in app.get_system_commands(screen)}
            assert keys <= commands, keys - commands
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = app.screen.query_one("#help-keys")
        await until(lambda: shown.row_count > 0, what="the help filled in")
        rows = {str(shown.get_row_at(r)[1]) for r in range(shown.row_count)}
        assert {k.description for k in screen_keys(app, workbench)} == rows
        assert {"Replay", "Open", "Save", "Timeline", "Show FN", "Open item", "Help", "Quit"} <= rows
        assert "Scroll Up" not in rows  # Textual's plumbing stays out


async def test_the_workbench_keys_can_be_asked_for_before_it_is_composed(workspace: Path) -> None:
    """The footer asks a screen which keys are active as it is pushed, possibly before the screen has composed (a
    NoMatches from the workbench's check_action failed a loaded `make test` run)."""
    from modtui.tui.screens.workbench import WorkbenchData

    app = make_app(workspace)
    async with app.run_test(size=(120, 36)):
        screen = WorkbenchScreen(WorkbenchData.load(app.ws, "INC-T1"))  # not mounted: nothing composed
        assert screen.check_action("replay", ()) is True and screen.check_action("cancel_replay", ()) is False


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


async def test_replay_warns_when_different_models_answered(served_workspace: Path, fake_server: Any) -> None:
    """The provider answered the baseline with one model and the candidate with another (a silent upgrade)."""
    from conftest import toxicity_model

    try:
        from fakeserver import Reply as FakeReply, verdict_text
    except ImportError:  # tests/ imported as a package
        from tests.fakeserver import Reply as FakeReply, verdict_text

    fake_server.responder = lambda r: FakeReply(
        text=verdict_text(toxicity_model(r)),
        model="gpt-4o-2024-11-20" if "self_deprecation" in r.text else "gpt-4o-2024-08-06",
    )
    app = make_app(served_workspace, "INC-T1")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await pilot.press("r")
        await pilot.press("space", "tab", "space", "ctrl+r")  # untick offline, tick gpt-mini, run
        await wait_replay(pilot, screen)
        shown = [n.message for n in app._notifications]
        assert any("answered by gpt-4o-2024-08-06 but run" in m and "gpt-4o-2024-11-20" in m for m in shown), shown
