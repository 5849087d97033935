"""SVG snapshots of the metrics tab's slice view and reliability diagram at 120×36 and 80×24 (same fixed world
as tests/test_tui_snapshots.py; `pytest --snapshot-update` after a deliberate change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_tui_snapshots import SIZES, fixed_world, make_app, replay, still

__all__ = ["fixed_world"]  # the autouse fixture applies here too


@pytest.mark.parametrize("size", SIZES)
def test_metrics_slices_and_reliability(snap_compare: Any, workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await replay(pilot)
        await pilot.press("m", "tab")  # the slice view, by cited rule: the dim rows are small slices
        await pilot.pause(0.3)  # the plots redraw once the tab's layout settles
        still(pilot)

    assert snap_compare(make_app(workspace, "INC-T1"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_items_filtered_to_a_slice(snap_compare: Any, workspace: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await replay(pilot)
        await pilot.press("m", "tab", "b", "b", "b", "enter")  # rule → kind → cluster → meta.locale; its first slice
        await pilot.pause()
        still(pilot)

    assert snap_compare(make_app(workspace, "INC-T1"), terminal_size=size, run_before=run_before)
