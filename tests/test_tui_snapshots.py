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
from modtui.providers.base import Reply
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
    monkeypatch.setattr(RunProgress, "rate", property(lambda self: 40.0))


def make_app(workspace: Path, incident: str | None = None) -> Any:
    return create_app(Workspace.open(workspace, str(workspace.parent / "snap.db")), incident)


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
