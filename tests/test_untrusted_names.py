"""Issue 17, names that reach a terminal: policy names, production model/prompt, labels, target names, authors
and provider error bodies pass the one sanitiser (modtui.terminal) on every face; JSON escapes C1 and bidi
characters; CSV cells that start a formula are neutralised; validation refuses control characters in names.

(Content, metadata and the model's reply: tests/test_untrusted_content.py.)
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import until
from reliability_support import db_path, write_targets
from test_untrusted_content import raw_controls

try:
    from fakeserver import Fault
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Fault

SRC = Path(__file__).resolve().parent.parent / "src" / "modtui"
# an OSC 52 clipboard write, a screen clear, an 8-bit CSI, a right-to-left override
EVIL = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m\u202eevil"
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


def test_cli_modules_print_only_through_the_output_helper() -> None:
    """`cli/output.py` is the CLI's one way to a terminal (`say`, `note`, `emit`, `echo_json`…): no other `cli/`
    module echoes, prints, writes or hands sys.stdout/stderr to a writer; the progress bar writes its own
    escapes and shows names through `one_line`."""
    raw = re.compile(
        r"\bclick\.(echo|secho)\(|(?<![\w.])print\(|sys\.(stdout|stderr)\b(?!\.(flush|fileno)\()|\.write\("
    )
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((SRC / "cli").glob("*.py"))
        if path.name not in ("output.py", "progress.py")
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if raw.search(line)
    ]
    assert offenders == []
    progress = (SRC / "cli" / "progress.py").read_text()
    assert "one_line(p.target)" in progress and "one_line(p.prompt)" in progress


def _poison_log(root: Path) -> None:
    """What an older modtui, or a teammate on a shared PostgreSQL log, could have written: hostile authors and
    target names in runs, events and findings (the files themselves are refused by validation now)."""
    import sqlite3

    con = sqlite3.connect(db_path(root))
    with con:
        con.execute("UPDATE run SET author = ?, target_name = ?", (FORMULAS[0] + EVIL, FORMULAS[1] + EVIL))
        con.execute("UPDATE event SET author = ?", (FORMULAS[2] + EVIL,))
    con.close()


@pytest.fixture
def poisoned(workspace: Path, run_cli: Any) -> Path:
    for args in (
        ["replay", "INC-T1", "-p", "prompts/toxicity/candidate.yaml"],
        ["finding", "add", "INC-T1", "--category", "policy_gap", "--summary", "s", "--item", "i-01"],
    ):
        result = run_cli(workspace, *args)
        assert result.exit_code == 0, result.stderr
    _poison_log(workspace)
    return workspace


@pytest.mark.parametrize(
    "args",
    [
        ["incident", "show", "INC-T1"],
        ["runs", "list"],
        ["runs", "show", "1"],
        ["runs", "compare", "1", "2"],
        ["report", "INC-T1"],
        ["finding", "list", "INC-T1"],
        ["runs", "list", "--format", "csv"],
        ["runs", "list", "--format", "json"],
        ["incident", "show", "INC-T1", "--format", "json"],
        ["report", "INC-T1", "--format", "json"],
    ],
    ids=" ".join,
)
def test_names_from_the_log_reach_no_terminal_raw(poisoned: Path, run_cli: Any, args: list[str]) -> None:
    result = run_cli(poisoned, *args)
    assert result.exit_code == 0, result.stderr
    assert not raw_controls(result.stdout + result.stderr), raw_controls(result.stdout + result.stderr)
    if "json" in args:
        json.loads(result.stdout)  # still JSON; the characters are \u escapes, so loading gives them back
        assert "\\u009b" in result.stdout and "\\u202e" in result.stdout


def test_csv_cells_that_start_a_formula_are_neutralised(poisoned: Path, run_cli: Any) -> None:
    result = run_cli(poisoned, "runs", "list", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(r["target"].startswith("'+cmd|") for r in rows), rows
    assert all(r["author"].startswith("'=HYPERLINK(") for r in rows)
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], cells
    assert all(r["run_id"].isdigit() for r in rows)  # numbers stay numbers


def test_csv_cell_rule() -> None:
    from modtui.cli.output import csv_cell

    assert [csv_cell(v) for v in FORMULAS] == ["'" + v for v in FORMULAS]
    assert csv_cell(-0.5) == "-0.500" and csv_cell(3) == "3" and csv_cell(None) == "-"  # numbers untouched
    assert csv_cell("\uff1dcmd") == "'\uff1dcmd" and csv_cell("plain text") == "plain text"


def test_json_escapes_c1_and_bidi_and_keeps_the_rest() -> None:
    from modtui.cli.output import json_text

    data = {"name": "caf\u00e9 \U0001f469\u200d\U0001f4bb" + EVIL + "\x7f"}
    text = json_text(data)
    assert not raw_controls(text) and "caf\u00e9 \U0001f469\u200d\U0001f4bb" in text
    assert json.loads(text) == data


def test_click_usage_errors_quote_arguments_inert(workspace: Path, run_cli: Any) -> None:
    for args in (["replay", "INC-T1", "--format", EVIL], ["runs", "show", EVIL], ["replay", EVIL]):
        result = run_cli(workspace, *args)
        assert result.exit_code == 2, result.stderr
        assert "\\x1b]52" in result.stderr and not raw_controls(result.stderr), result.stderr


def test_provider_error_body_is_shown_inert(
    workspace: Path, run_cli: Any, fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 whose body carries escapes: the replay's `error:` line and `runs show` print it inert."""
    monkeypatch.setenv("MODTUI_TEST_OPENAI_KEY", "sk-test-openai-0123456789")
    write_targets(workspace, fake_server.url)
    fake_server.responder = lambda request: Fault("auth", message=f"bad key {EVIL}")
    result = run_cli(workspace, "replay", "INC-T1", "-m", "gpt-mini")
    assert result.exit_code == 2
    assert "error:" in result.stderr and "\\x1b]52" in result.stderr, result.stderr
    assert not raw_controls(result.stdout + result.stderr), raw_controls(result.stderr)
    shown = run_cli(workspace, "runs", "show", "1")
    assert not raw_controls(shown.stdout + shown.stderr)


# ---------------------------------------------------------------- names with control characters are refused
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


YAML_EVIL = '"x\\e]52;c;aGk=\\a"'  # YAML double-quoted escapes: ESC ... BEL


@pytest.mark.parametrize(
    "field, old, new",
    [
        ("labels", "labels: [toxic, ok]", f"labels: [toxic, {YAML_EVIL}]"),
        ("production.model", "model: offline", f"model: {YAML_EVIL}"),
        ("production.prompt", "prompt: prompts/toxicity/production.yaml", f"prompt: {YAML_EVIL}"),
        ("policy", "policy: toxicity", "policy: ../../elsewhere"),
        ("policy", "policy: toxicity", f"policy: {YAML_EVIL}"),
    ],
)
def test_incident_names_with_control_characters_are_refused(
    workspace: Path, run_cli: Any, field: str, old: str, new: str
) -> None:
    path = workspace / "incidents" / "INC-T1" / "incident.yaml"
    _edit(path, old, new)
    result = run_cli(workspace, "validate")
    assert result.exit_code == 2, result.stderr
    assert re.search(rf"^incidents/INC-T1/incident.yaml:\d+(:\d+)?: {re.escape(field)}", result.stderr, re.M), (
        result.stderr
    )
    assert not raw_controls(result.stderr) and "Traceback" not in result.stderr


def test_target_name_with_control_characters_is_refused(workspace: Path, run_cli: Any) -> None:
    (workspace / "modtui.toml").write_text(
        '[targets."a\\u001b]52;c;aGk=\\u0007"]\nprovider = "rules"\nmodel = "rules"\n'
    )
    result = run_cli(workspace, "validate")
    assert result.exit_code == 2
    assert result.stderr.startswith("modtui.toml:1: target name"), result.stderr
    assert not raw_controls(result.stderr)


@pytest.mark.parametrize("where", ["--author", "MODTUI_AUTHOR", "modtui.toml"])
def test_author_with_control_characters_is_refused(workspace: Path, run_cli: Any, where: str) -> None:
    from test_validation import db_snapshot

    assert run_cli(workspace, "incident", "list").exit_code == 0
    before = db_snapshot(db_path(workspace))
    args, env = ["incident", "status", "INC-T1", "mitigated"], {"MODTUI_AUTHOR": None}
    if where == "--author":
        args += ["--author", EVIL]
    elif where == "MODTUI_AUTHOR":
        env["MODTUI_AUTHOR"] = EVIL
    else:
        (workspace / "modtui.toml").write_text('[workspace]\nauthor = "x\\u001b]52;c;aGk=\\u0007"\n')
    result = run_cli(workspace, *args, env=env)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("modtui.toml:2:" if where == "modtui.toml" else f"error: {where}: author"), (
        result.stderr
    )
    assert not raw_controls(result.stderr)
    assert db_snapshot(db_path(workspace)) == before


async def test_tui_shows_names_from_the_log_inert(poisoned: Path) -> None:
    """Items-table column headers (target × prompt of each run), the workbench subtitle, the item detail's
    verdict history and the timeline, on a log holding hostile target names and authors."""
    from textual.widgets import DataTable, Static

    from modtui.tui.app import create_app
    from modtui.tui.screens.item_detail import ItemDetailScreen
    from modtui.tui.screens.timeline import TimelineScreen
    from modtui.tui.widgets.items_table import ItemsTable
    from modtui.workspace import Workspace

    ws = Workspace.open(poisoned)
    app = create_app(ws, "INC-T1")
    seen: list[str] = []

    def collect() -> None:
        seen.extend([str(app.screen.title), str(app.screen.sub_title), app.export_screenshot()])
        for table in app.screen.query(DataTable):
            seen.extend(str(c) for r in range(table.row_count) for c in table.get_row_at(r))
        seen.extend(str(s.render()) for s in app.screen.query(Static))

    async with app.run_test(size=(160, 40)) as pilot:
        await until(
            lambda: bool(app.screen.query(ItemsTable)) and not app.screen.data.matrix_pending,
            what="the workbench shows the log's verdicts",
        )
        items = app.screen.query_one(ItemsTable)
        headers = [c.group for c in items.columns if c.group]
        assert headers and all("\\x1b]52" in h for h in headers), headers  # the hostile name, shown inert
        seen.extend(s.text for y in range(items.header) for s in items.render_line(y))
        collect()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ItemDetailScreen), what="the item detail opens")
        await pilot.pause()
        collect()
        await pilot.press("escape", "t")
        await until(lambda: isinstance(app.screen, TimelineScreen), what="the timeline opens")
        await pilot.pause()
        collect()
    ws.close()
    assert any("+cmd|" in s for s in seen)
    for text in seen:
        assert not raw_controls(text), raw_controls(text)
