"""Issue 17, paths: every path a file or argument names resolves inside the workspace after symlinks or is
refused with exit 2 (its contents never echoed); items.jsonl that is a FIFO or a device is refused without
being read; symlinked incident, golden and prompt folders pointing outside are refused for writes.

(Names too long or reserved on Windows: the argument table in tests/test_bad_arguments.py.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from reliability_support import db_path, run
from test_validation import db_snapshot, file_hashes

SECRET_LINES = "root:$6$hash-of-a-password:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace holding a file in /etc/shadow's shape."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "shadow").write_text(SECRET_LINES)
    return folder


def _set(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_production_prompt_outside_the_workspace_is_refused_unread(
    workspace: Path, outside: Path, run_cli: Any, how: str
) -> None:
    incident = workspace / "incidents" / "INC-T1" / "incident.yaml"
    if how == "symlink":
        (workspace / "prompts" / "toxicity" / "linked.yaml").symlink_to(outside / "shadow")
        target = "prompts/toxicity/linked.yaml"
    else:
        target = str(outside / "shadow") if how == "absolute" else "../elsewhere/shadow"
    _set(incident, "prompt: prompts/toxicity/production.yaml", f"prompt: {target}")
    # a path that names the outside as written is refused on load (so by `incident show` too); a symlink is
    # found where the file would be opened, so `incident show`, which opens no prompt, shows the incident
    shows = ["incident", "show", "INC-T1"]
    for args in (["validate"], ["replay", "INC-T1"], shows):
        result = run_cli(workspace, *args)
        if how == "symlink" and args == shows:
            assert result.exit_code == 0 and "hash-of-a-password" not in result.stdout
            continue
        assert result.exit_code == 2, (args, result.stderr)
        named = (
            "prompts/toxicity/linked.yaml: "
            if how == "symlink" and args != ["validate"]
            else "incidents/INC-T1/incident.yaml:"
        )
        assert named in result.stderr and "outside the workspace" in result.stderr, result.stderr
        assert "hash-of-a-password" not in result.stderr + result.stdout and "daemon" not in result.stderr, (
            result.stderr
        )
        assert "Traceback" not in result.stderr


def test_prompt_argument_outside_the_workspace_is_refused(workspace: Path, outside: Path, run_cli: Any) -> None:
    for ref in (str(outside / "shadow"), "../elsewhere/shadow"):
        result = run_cli(workspace, "prompt", "diff", "toxicity/production", ref)
        assert result.exit_code == 2 and "outside the workspace" in result.stderr, result.stderr
        assert "hash-of-a-password" not in result.stdout + result.stderr


def test_a_file_that_is_not_a_prompt_is_not_reprinted(workspace: Path, run_cli: Any) -> None:
    """A file in the workspace in the wrong shape: its problems are located, quoted values are cut short."""
    long_key = "k" * 500
    (workspace / "prompts" / "toxicity" / "production.yaml").write_text(f"{long_key}: {'v' * 500}\nname: [1]\n")
    result = run_cli(workspace, "validate")
    assert result.exit_code == 2
    assert "prompts/toxicity/production.yaml:1:1: unknown field 'kkk" in result.stderr, result.stderr
    assert long_key not in result.stderr and "v" * 100 not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero", "symlink to a fifo"])
def test_items_file_that_is_not_a_regular_file_is_refused(workspace: Path, tmp_path: Path, kind: str) -> None:
    """A real process (a FIFO would block a read for ever): exit 2 at once, naming the file."""
    items = workspace / "incidents" / "INC-T1" / "items.jsonl"
    items.unlink()
    if kind == "fifo":
        os.mkfifo(items)
    elif kind == "symlink to /dev/zero":
        items.symlink_to("/dev/zero")
    else:
        os.mkfifo(tmp_path / "pipe")
        items.symlink_to(tmp_path / "pipe")
    for args in (["validate"], ["incident", "list"], ["replay", "INC-T1"]):
        done = run(workspace, *args, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert "incidents/INC-T1/items.jsonl: is not a regular file" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_golden_folder_symlinked_outside_is_refused_for_writes(workspace: Path, outside: Path, run_cli: Any) -> None:
    (workspace / "goldens").symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    result = run_cli(workspace, "golden", "add", "INC-T1", "--set", "gold")
    assert result.exit_code == 2 and "goldens/gold.jsonl: resolves outside the workspace" in result.stderr, (
        result.stderr
    )
    assert sorted(p.name for p in outside.iterdir()) == before


def test_incident_folder_symlinked_outside_is_refused_for_writes(workspace: Path, tmp_path: Path, run_cli: Any) -> None:
    moved = tmp_path / "INC-T1"
    shutil.move(workspace / "incidents" / "INC-T1", moved)
    (workspace / "incidents" / "INC-T1").symlink_to(moved, target_is_directory=True)
    assert run_cli(workspace, "incident", "list").exit_code == 0  # read: allowed
    before = file_hashes(moved), db_snapshot(db_path(workspace))
    for args in (
        ["incident", "status", "INC-T1", "mitigated"],
        ["incident", "new", "--id", "INC-T1", "--policy", "toxicity", "--force"],
    ):
        result = run_cli(workspace, *args)
        assert result.exit_code == 2 and "outside the workspace" in result.stderr, (args, result.stderr)
    assert (file_hashes(moved), db_snapshot(db_path(workspace))) == before


def test_saving_a_candidate_never_writes_outside(workspace: Path, outside: Path) -> None:
    """The TUI's ctrl+s calls save_candidate: a policy folder that is a symlink out of the workspace, or a
    policy that is a path, is refused and nothing is written."""
    from modtui.errors import UsageError
    from modtui.services.workbench import save_candidate
    from modtui.workspace import Workspace

    ws = Workspace.open(workspace)
    text = (workspace / "prompts" / "toxicity" / "candidate.yaml").read_text()
    (workspace / "prompts" / "linked").symlink_to(outside, target_is_directory=True)
    for policy in ("linked", "../../elsewhere", str(outside)):
        with pytest.raises(UsageError, match="outside the workspace"):
            save_candidate(ws, policy, "mine", text)
    assert sorted(p.name for p in outside.iterdir()) == ["shadow"]
    for name in ("CON", "nul", "COM1.v2", "x" * 300):
        with pytest.raises(UsageError):
            save_candidate(ws, "toxicity", name, text)
    assert save_candidate(ws, "toxicity", "mine", text).name == "mine.yaml"
    ws.close()
