"""Dependencies point inward: the pure core and `modtui --help` never pull in heavy or network libraries."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modtui

HEAVY = ("textual", "sqlmodel", "sqlalchemy", "openai", "anthropic")
NETWORK_AND_UI = ("openai", "anthropic", "textual")
PURE_CORE = [
    "modtui.domain.incident",
    "modtui.domain.prompt",
    "modtui.domain.verdict",
    "modtui.domain.target",
    "modtui.analysis.metrics",
    "modtui.analysis.flips",
    "modtui.analysis.significance",
    "modtui.analysis.sweep",
    "modtui.analysis.cluster",
    "modtui.analysis.precedent",
    "modtui.policy.model",
    "modtui.policy.classify",
    "modtui.analysis.robustness",
    "modtui.analysis.stability",
    "modtui.probes.mutations",
    "modtui.probes.variants",
    "modtui.analysis.queue",
]


def loaded_after(code: str) -> set[str]:
    """Top-level package names in sys.modules after running `code` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODTUI_")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_pure_core_imports_nothing_heavy() -> None:
    present = [m for m in PURE_CORE if importlib.util.find_spec(m) is not None]
    assert "modtui.domain.incident" in present and "modtui.analysis.metrics" in present
    loaded = loaded_after("\n".join(f"import {m}" for m in present))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("module", ["modtui.incidents.loader", "modtui.prompts.render", "modtui.config"])
def test_file_handling_imports_no_network_or_ui(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert loaded.isdisjoint(NETWORK_AND_UI), sorted(loaded & set(NETWORK_AND_UI))


def test_cli_help_imports_no_network_or_ui() -> None:
    code = textwrap.dedent("""
        import sys
        from modtui.cli import main
        try:
            main(["--help"], prog_name="modtui")
        except SystemExit as exc:
            assert exc.code == 0, exc.code
    """)
    loaded = loaded_after(code)
    assert loaded.isdisjoint(NETWORK_AND_UI), sorted(loaded & set(NETWORK_AND_UI))


def test_cli_help_of_every_command_imports_nothing_heavy() -> None:
    """`modtui --help` and every subcommand's --help: no SQLAlchemy, SQLModel, SDK or Textual (start-up stays fast)."""
    code = textwrap.dedent("""
        import click
        from modtui.cli import main

        def helps(group, path):
            yield path
            for name, command in getattr(group, "commands", {}).items():
                yield from helps(command, path + [name])

        for path in list(helps(main, [])):
            try:
                main(path + ["--help"], prog_name="modtui")
            except SystemExit as exc:
                assert exc.code == 0, (path, exc.code)
    """)
    loaded = loaded_after(code)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_cli_choice_literals_match_the_services() -> None:
    """The CLI spells some choices as literals (so --help imports no services): they must not drift."""
    from modtui.cli import incident, replay, runs
    from modtui.domain.incident import Severity, Status
    from modtui.incidents.loader import INCIDENT_FILE, ITEMS_FILE
    from modtui.services.labels import LABEL_SETS
    from modtui.services.replay import ITEM_SETS

    assert replay.ITEM_SETS == ITEM_SETS and replay.LABEL_SETS == LABEL_SETS == runs.LABEL_SETS
    assert incident.SEVERITIES == tuple(s.value for s in Severity)
    assert incident.STATUSES == tuple(s.value for s in Status)
    assert (incident.INCIDENT_FILE, incident.ITEMS_FILE) == (INCIDENT_FILE, ITEMS_FILE)
    from modtui.services.new_incident import REJECTS_FILE

    assert incident.REJECTS_FILE == REJECTS_FILE


def test_help_lists_the_commands(run_cli) -> None:
    result = run_cli(None, "--help")
    assert result.exit_code == 0
    for command in ("incident", "targets", "prompt", "validate"):
        assert f"  {command}" in result.stdout


SRC = Path(modtui.__file__).parent
ORM = ("sqlalchemy", "sqlmodel", "modtui.store.tables")


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SRC.parent)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
    ]


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # every import, also inside functions and `if TYPE_CHECKING:`
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_store_imports_sqlalchemy_or_sqlmodel() -> None:
    outside = {
        path: sorted(n for n in _imported(tree) if n.split(".")[0] in ORM[:2] or n.startswith(ORM[2]))
        for path, tree in _modules()
        if not path.startswith("modtui/store/")
    }
    assert {path: names for path, names in outside.items() if names} == {}


def test_the_store_hands_out_records_not_rows() -> None:
    """No public function of store/ takes or returns an ORM row: records, domain types and plain values leave it."""
    from modtui.store import tables

    rows = {name for name in dir(tables) if name.endswith("Row")}
    assert {"RunRow", "ResultRow", "EventRow", "BatchRow", "FindingRow"} <= rows
    leaks = []
    for path, tree in _modules():
        if not path.startswith("modtui/store/") or path.endswith("tables.py"):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                annotation = ast.unparse(node.returns) if node.returns else ""
                if any(row in annotation for row in rows):
                    leaks.append(f"{path}:{node.lineno} {node.name} -> {annotation}")
    assert leaks == []


def test_faces_hold_records_not_rows() -> None:
    """cli/ and tui/ reach the log only through services: they import no store module at all."""
    faces = {
        path: sorted(n for n in _imported(tree) if n.startswith("modtui.store"))
        for path, tree in _modules()
        if path.startswith(("modtui/cli/", "modtui/tui/"))
    }
    assert {path: names for path, names in faces.items() if names} == {}


def test_records_are_frozen() -> None:
    import dataclasses

    from modtui.store import records

    classes = [c for c in vars(records).values() if dataclasses.is_dataclass(c) and c.__module__ == records.__name__]
    assert len(classes) >= 5 and all(c.__dataclass_params__.frozen for c in classes)  # type: ignore[attr-defined]
