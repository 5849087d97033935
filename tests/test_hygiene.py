"""Dependencies point inward: the pure core and `modtui --help` never pull in heavy or network libraries."""

from __future__ import annotations

import ast
import functools
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


@functools.cache
def _modules() -> tuple[tuple[str, ast.Module], ...]:
    """(path, syntax tree) of every modtui module, parsed once per test process (~0.6 s of CPU); read only."""
    return tuple(
        (str(path.relative_to(SRC.parent)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
    )


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


# the providers' own vocabulary that happens to spell one of ours: the Batch APIs' status words, Anthropic's stop reason
WIRE_WORDS = {
    ("modtui/providers/openai_batch.py", "failed"),
    ("modtui/providers/anthropic_batch.py", "ended"),
    ("modtui/providers/anthropic.py", "refusal"),
    ("modtui/services/replay.py", "guard"),  # `--items guard`, the item-set choice (services.replay.ITEM_SETS)
}


def _enum_literals(tree: ast.Module, words: set[str]) -> list[tuple[int, str]]:
    """(line, word) of each string literal among `words` that is compared (==, !=, in, not in) or passed as an
    `error_type=` / `status=` / `outcome=` argument."""
    found: list[tuple[int, str]] = []

    def literals(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.keyword) and node.arg in ("error_type", "status", "outcome"):
            operands = [node.value]
        else:
            continue
        found += [
            (node.lineno if hasattr(node, "lineno") else 0, w) for o in operands for w in literals(o) if w in words
        ]
    return found


def test_statuses_error_types_and_outcomes_are_compared_as_enum_members() -> None:
    """Outside the enums' home (domain/) and the store's column mapping (store/), a status (run, batch, incident,
    finding), an error type, an outcome or an item kind is compared as its enum member, never as a bare string that
    could drift or be mistyped."""
    from modtui.domain.finding import FindingStatus
    from modtui.domain.incident import ItemKind, Severity, Status
    from modtui.domain.run import BatchStatus, RunStatus
    from modtui.domain.verdict import ErrorType, Outcome

    enums = (RunStatus, BatchStatus, Status, FindingStatus, Severity, ItemKind, ErrorType, Outcome)
    words = {m.value for enum in enums for m in enum}
    bare = {
        path: hits
        for path, tree in _modules()
        if not path.startswith(("modtui/domain/", "modtui/store/"))
        and (hits := [(line, w) for line, w in _enum_literals(tree, words) if (path, w) not in WIRE_WORDS])
    }
    assert bare == {}


def test_the_report_schema_lists_every_status_the_domain_has() -> None:
    """A report names its incident's, runs' and findings' statuses: the published schema allows each one."""
    from modtui.domain.finding import FindingStatus
    from modtui.domain.incident import Status
    from modtui.domain.run import RunStatus
    from modtui.report import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    shown = {
        "incident": schema["properties"]["incident"]["properties"]["status"]["enum"],
        "run": schema["$defs"]["run"]["properties"]["status"]["enum"],
        "finding": schema["$defs"]["finding"]["properties"]["status"]["enum"],
    }
    assert shown == {
        "incident": [s.value for s in Status],
        "run": [s.value for s in RunStatus],
        "finding": [s.value for s in FindingStatus],
    }


def _is_module(dotted: str) -> bool:
    path = SRC.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private_uses(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, name) of each private name of another modtui module this one imports (`from m import _x`) or reads
    (`m._x` where `m` is a modtui module it imported)."""
    modules: dict[str, str] = {}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("modtui"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
                elif _is_module(f"{node.module}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            modules.update({a.asname: a.name for a in node.names if a.asname and a.name.startswith("modtui")})
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append((node.lineno, f"{modules[node.value.id]}.{node.attr}"))
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    """What a module shares is public (a service function, an adapter's parse()); its `_names` stay its own."""
    assert {path: uses for path, tree in _modules() if (uses := _private_uses(tree))} == {}
