"""SVG snapshots of the TUI at 120×36 and 80×24: incidents, the workbench after a replay, the timeline.

Deterministic: the test workspace, a fixed clock for everything the log records, a fixed latency and
replay rate, no cursor blink, notifications cleared. `pytest --snapshot-update` rewrites them after a
deliberate change; look at the report (or the SVGs) before committing.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

import modtui.timeutil
from conftest import until
from modtui.providers.base import Reply
from modtui.providers.rules import RulesProvider
from modtui.replay.events import RunProgress
from modtui.tui.app import create_app
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.workspace import Workspace

SIZES = [pytest.param((120, 36), id="120x36"), pytest.param((80, 24), id="80x24")]
NOW = "2026-11-20T09:30:00.000Z"


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `now_iso` the log uses returns NOW; every call takes 12.5 ms; every replay runs at 40 items/s."""
    original = modtui.timeutil.now_iso
    for name, module in list(sys.modules.items()):
        if name.startswith("modtui") and getattr(module, "now_iso", None) is original:
            monkeypatch.setattr(module, "now_iso", lambda: NOW)
    monkeypatch.setattr(Reply, "timed", lambda self, started: replace(self, latency_ms=12.5))
    decide_many = RulesProvider.decide_many  # the offline baseline times each item itself
    monkeypatch.setattr(
        RulesProvider,
        "decide_many",
        lambda self, *args: [replace(r, latency_ms=12.5) for r in decide_many(self, *args)],
    )
    monkeypatch.setattr(RunProgress, "rate", property(lambda self: 40.0))


def make_app(workspace: Path, incident: str | None = None) -> Any:
    return create_app(Workspace.open(workspace), incident)


def still(pilot: Pilot) -> None:  # type: ignore[type-arg]
    for widget in pilot.app.query(Input):
        widget.cursor_blink = False
    for widget in pilot.app.query(TextArea):
        widget.cursor_blink = False
    pilot.app.clear_notifications()


async def replay(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """r, ctrl+r (offline target, baseline + the policy's candidate.yaml, failing items), until it ends."""
    screen = pilot.app.screen
    assert isinstance(screen, WorkbenchScreen)
    await pilot.press("r", "ctrl+r")
    await until(lambda: screen.replay_worker is not None, what="the dialog handled ctrl+r")
    assert screen.replay_worker is not None
    await screen.replay_worker.wait()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES)
def test_incidents_screen(snap_compare: Any, workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await pilot.pause()
        still(pilot)

    assert snap_compare(make_app(workspace), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_workbench_after_replay(snap_compare: Any, workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await replay(pilot)
        await pilot.press("down", "down")  # the cursor on i-03
        still(pilot)

    assert snap_compare(make_app(workspace, "INC-T1"), terminal_size=size, run_before=run_before)


def test_workbench_metrics_with_threshold_plot(snap_compare: Any, workspace: Path) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await replay(pilot)
        await pilot.press("m")
        still(pilot)

    assert snap_compare(make_app(workspace, "INC-T1"), terminal_size=(120, 36), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_timeline_after_replay(snap_compare: Any, workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await replay(pilot)
        await pilot.press("t")
        await pilot.pause()
        still(pilot)

    assert snap_compare(make_app(workspace, "INC-T1"), terminal_size=size, run_before=run_before)


LONG_RATIONALE = {
    "toxic": (
        "The post calls another person an idiot and nothing around the word turns it into a joke about the "
        "author; the harassment policy removes insults aimed at someone else even when they are mild, so this "
        "stays toxic under both prompts. The end of the toxic rationale."
    ),
    "ok": (
        "The author is talking about themself: 'I am an idiot' after a mistake is self-deprecation, which the "
        "candidate prompt's self_deprecation exception names, and no other person is the target of the words; "
        "the post stays up. The end of the ok rationale."
    ),
}


def long_rationales(request: Any) -> Any:
    from conftest import toxicity_model

    try:
        from fakeserver import Reply, verdict_text
    except ImportError:
        from tests.fakeserver import Reply, verdict_text
    label = toxicity_model(request)
    return Reply(text=verdict_text(label, 0.9, LONG_RATIONALE[label]))


@pytest.mark.parametrize("size", SIZES)
def test_item_detail_with_long_rationales(
    snap_compare: Any, served_workspace: Path, fake_server: Any, size: tuple[int, int]
) -> None:
    """A flipped item: baseline and candidate verdicts side by side, each rationale whole, then the log's verdicts."""
    fake_server.responder = long_rationales

    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        screen = pilot.app.screen
        await pilot.press("r", "space", "down", "space", "ctrl+r")  # gpt-mini instead of offline
        await until(lambda: screen.replay_worker is not None, what="the dialog handled ctrl+r")
        assert screen.replay_worker is not None
        await screen.replay_worker.wait()
        await pilot.pause(0.1)
        await pilot.press("5", "enter")  # flipped: i-01
        await pilot.app.workers.wait_for_complete()  # the precedents
        await pilot.pause()
        still(pilot)

    assert snap_compare(make_app(served_workspace, "INC-T1"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_replay_dialog(snap_compare: Any, served_workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await pilot.press("r")
        await pilot.pause()
        still(pilot)

    assert snap_compare(make_app(served_workspace, "INC-T1"), terminal_size=size, run_before=run_before)
