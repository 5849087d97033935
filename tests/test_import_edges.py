"""Issue 17, import and workspace edges a new user meets: --on-bad-row skip|fail (skipped rows with reasons in
import-rejects.jsonl beside the incident's files, a count printed), --dedupe first|last|fail, whitespace-only
content is empty, an unmapped label value reported once with its count, and an incident with no items valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import until
from test_import import assert_nothing_left, do_import, items_of

EXPORT = (
    "id,text,gold,prod\n"
    "a,hello there,ok,ok\n"
    "b,   ,ok,ok\n"  # whitespace only: empty content
    "c,buy now,spam,ok\n"  # unmapped
    "d,you moron,toxic,ok\n"
    "a,hello again,ok,toxic\n"  # a repeated id
    "e,more spam,spam,ok\n"  # the same unmapped value again
    "f,nice,ok,toxic\n"
)


def write(tmp_path: Path, text: str = EXPORT, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_fails_whole_with_each_unmapped_value_once(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    result = do_import(run_cli, workspace, write(tmp_path), "INC-I", "--id-col", "id")
    assert result.exit_code == 2
    err = result.stderr.splitlines()
    assert any(":3: empty content in column 'text'" in line for line in err), result.stderr
    spam = [line for line in err if "value 'spam'" in line]
    assert len(spam) == 1 and ":4: expected value 'spam'" in spam[0] and "(2 rows, first on this line)" in spam[0]
    assert any(":6: duplicate id 'a' (first on line 2)" in line for line in err)
    assert_nothing_left(workspace)


def test_skip_imports_the_rest_and_writes_the_rejects(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    result = do_import(run_cli, workspace, write(tmp_path), "INC-I", "--id-col", "id", "--on-bad-row", "skip")
    assert result.exit_code == 0, result.stderr
    assert [i["id"] for i in items_of(workspace)] == ["a", "d", "f"]
    assert "skipped 4 bad row(s)" in result.stderr and "incidents/INC-I/import-rejects.jsonl" in result.stderr
    assert "unmapped expected value 'spam': 2 row(s)" in result.stderr
    rejects = [
        json.loads(line)
        for line in (workspace / "incidents" / "INC-I" / "import-rejects.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejects] == [3, 4, 6, 7]
    assert rejects[0]["reasons"] == ["empty content in column 'text'"] and rejects[0]["row"]["id"] == "b"
    assert "duplicate id 'a'" in rejects[2]["reasons"][0]
    assert run_cli(workspace, "validate").exit_code == 0


def test_dedupe_first_and_last(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    export = write(tmp_path, "id,text,gold,prod\na,first,ok,ok\nb,other,toxic,ok\na,last,toxic,ok\n")
    for policy, content in (("first", "first"), ("last", "last")):
        result = do_import(run_cli, workspace, export, f"INC-{policy}", "--id-col", "id", "--dedupe", policy)
        assert result.exit_code == 0, result.stderr
        assert "dropped 1 row(s) repeating an id" in result.stderr
        rows = {i["id"]: i["content"] for i in items_of(workspace, f"INC-{policy}")}
        assert rows == {"a": content, "b": "other"}
    assert do_import(run_cli, workspace, export, "INC-fail", "--id-col", "id").exit_code == 2


def test_bad_jsonl_lines_are_rows_to_skip(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    export = write(
        tmp_path,
        '{not json\n{"text": "ok one", "gold": "ok", "prod": "ok"}\n[1, 2]\n'
        '{"text": "half \\ud83d", "gold": "ok", "prod": "ok"}\n'
        '{"text": "you moron", "gold": "toxic", "prod": "ok"}\n',
        "export.jsonl",
    )
    failed = do_import(run_cli, workspace, export, "INC-J")
    assert (
        failed.exit_code == 2
        and ":1:2: invalid JSON" in failed.stderr
        and ":3: expected a JSON object" in failed.stderr
    )
    assert ":4:" in failed.stderr and "lone surrogate" in failed.stderr  # every bad line at once
    result = do_import(run_cli, workspace, export, "INC-J", "--on-bad-row", "skip")
    assert result.exit_code == 0, result.stderr
    assert [i["content"] for i in items_of(workspace, "INC-J")] == ["ok one", "you moron"]
    assert "skipped 3 bad row(s)" in result.stderr


def test_an_incident_with_no_items_yet_is_valid(workspace: Path, run_cli: Any) -> None:
    made = run_cli(workspace, "incident", "new", "--id", "INC-EMPTY", "--policy", "toxicity")
    assert made.exit_code == 0, made.stderr
    assert run_cli(workspace, "validate").exit_code == 0
    listed = run_cli(workspace, "incident", "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert {i["id"]: i["items"] for i in json.loads(listed.stdout)["incidents"]}["INC-EMPTY"] == 0
    shown = run_cli(workspace, "incident", "show", "INC-EMPTY")
    assert shown.exit_code == 0 and "items: none yet" in shown.stdout, shown.stderr
    replay = run_cli(workspace, "replay", "INC-EMPTY")
    assert replay.exit_code == 2 and "INC-EMPTY: no items to replay" in replay.stderr, replay.stderr
    assert run_cli(workspace, "report", "INC-EMPTY").exit_code == 0


async def test_an_incident_with_no_items_opens_in_the_tui(workspace: Path, run_cli: Any) -> None:
    from modtui.tui.app import create_app
    from modtui.tui.screens.workbench import WorkbenchScreen
    from modtui.workspace import Workspace

    assert run_cli(workspace, "incident", "new", "--id", "INC-EMPTY", "--policy", "toxicity").exit_code == 0
    ws = Workspace.open(workspace)
    app = create_app(ws, "INC-EMPTY")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: isinstance(app.screen, WorkbenchScreen), what="the workbench opens")
        await pilot.press("enter", "escape", "t")
        await app.workers.wait_for_complete()  # what the keys started has reported (an error would be a notice)
        await pilot.pause()
        assert not [n for n in app._notifications if n.severity == "error"]
    ws.close()
