"""Ctrl-C while a replay is still planning: a clear message and exit 130, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from modtui.services import replay as svc


def test_ctrl_c_before_any_call(workspace: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(svc, "plan", interrupted)
    result = run_cli(workspace, "replay", "INC-T1")
    assert result.exit_code == 130
    assert "interrupted before any call" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
