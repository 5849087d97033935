"""Shared fixtures: a clean environment, a copy of the small valid workspace, a CLI runner."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

DATA = Path(__file__).parent / "data"
VALID_WORKSPACE = DATA / "workspace"
INCIDENT_ID = "INC-T1"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's modtui settings; timeline authors are `tester`."""
    monkeypatch.setenv("MODTUI_AUTHOR", "tester")
    for name in ("MODTUI_DB", "MODTUI_WORKSPACE", "MODTUI_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh copy of tests/data/workspace (its log will be WORKSPACE/.modtui/modtui.db)."""
    dest = tmp_path / "ws"
    shutil.copytree(VALID_WORKSPACE, dest)
    return dest


def run_cli(workspace: Path | None, *args: str, input: str | None = None,
            env: dict[str, str | None] | None = None, **kwargs: Any) -> Result:
    """`modtui --workspace WORKSPACE ARGS...` in-process; result.stdout / result.stderr are separate."""
    from modtui.cli import main

    argv = (["--workspace", str(workspace)] if workspace is not None else []) + [str(a) for a in args]
    return CliRunner().invoke(main, argv, input=input, env=env, **kwargs)


@pytest.fixture(name="run_cli")
def run_cli_fixture() -> Callable[..., Result]:
    return run_cli
