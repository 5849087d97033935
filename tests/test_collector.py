"""The cyclic collector paused around bulk imports (modtui.collector), and left as it was after a replay."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from conftest import INCIDENT_ID
from modtui.collector import paused


def test_paused_then_as_before() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it paused and leaves it so
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()  # it was off before: off after
    finally:
        gc.enable()


def test_kept_what_the_block_made_is_frozen_before_the_collector_runs_again() -> None:
    """An import's hundreds of thousands of objects were all young after the pause: the first collection walked
    them all (27-39 ms). Kept, they are out of the collector's sight before it runs again."""
    gc.unfreeze()
    try:
        with paused(keep=True):
            made = [[i] for i in range(20_000)]  # lists: tracked by the collector
            assert gc.get_freeze_count() == 0
        frozen = gc.get_freeze_count()
        assert gc.isenabled() and frozen >= len(made)
        with paused():
            more = [[i] for i in range(1_000)]
        assert len(more) and gc.get_freeze_count() == frozen  # without keep nothing more is frozen
    finally:
        gc.unfreeze()


def test_a_replay_leaves_the_collector_on_and_nothing_frozen(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "replay", INCIDENT_ID, "-m", "offline", "-p", "toxicity/candidate", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert gc.isenabled() and gc.get_freeze_count() == 0
