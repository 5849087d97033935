"""Issue 7, untrusted content: terminal escapes and control characters in item content, metadata and the
model's own reply are shown inert in the CLI tables, the TUI (items table and item detail) and reports; a
1 MB item replays on the offline target and on an HTTP target, cut for the prompt with a recorded note.

(Template syntax rendering literally and `</content>` staying inside its block: tests/test_validation.py.)
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from modtui.prompts.render import MAX_CONTENT_CHARS
from conftest import until
from reliability_support import add_incident, db_path, query, set_test_keys, write_targets

try:
    from fakeserver import FakeRequest, FakeServer
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeRequest, FakeServer

CANDIDATE = "prompts/toxicity/candidate.yaml"
# what an attacker can put in a post: clear the screen, set the window title, a hyperlink, colours, carriage
# return and backspace to overwrite what is shown, NUL, an 8-bit CSI, right-to-left override, DEL
EVIL = (
    "\x1b[2J\x1b[H"
    "\x1b]0;pwned\x07"
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
    "\x1b[31mred\x1b[0m \rover\x08\x00 \x9b31m c1 \u202eevil\u202c \x7f end"
)


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on: C0 (except newline), DEL, C1, and bidi overrides/isolates."""
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if (c != "\n" and unicodedata.category(c) == "Cc")
            or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        }
    )


def evil_incident(root: Path, incident_id: str = "INC-EVIL") -> None:
    """Self-deprecating posts (the candidate fixes them, so the CLI lists them) carrying escapes everywhere."""
    folder = root / "incidents" / incident_id
    folder.mkdir(parents=True)
    header = (root / "incidents" / "INC-T1" / "incident.yaml").read_text().replace("id: INC-T1", f"id: {incident_id}")
    (folder / "incident.yaml").write_text(header)
    items = [
        {
            "id": f"e-{n}",
            "content": f"I am an idiot {EVIL} #{n}",
            "expected": "ok",
            "observed": "toxic",
            "meta": {"surface": EVIL, "locale": "en"},
        }
        for n in range(3)
    ]
    items.append({"id": "e-3", "content": f"you idiot {EVIL}", "expected": "toxic", "observed": "toxic"})
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))


def test_cli_shows_escapes_inert(workspace: Path, run_cli: Any) -> None:
    from modtui.cli import main

    evil_incident(workspace)
    outputs = []
    for args in (
        ["replay", "INC-EVIL", "-p", CANDIDATE],
        ["replay", "INC-EVIL", "-p", CANDIDATE, "--format", "csv"],
        ["runs", "list"],
        ["runs", "show", "2"],
        ["runs", "compare", "1", "2"],
        ["incident", "show", "INC-EVIL"],
        *([["report", "INC-EVIL"]] if "report" in main.commands else []),
        *([["cluster", "INC-EVIL"]] if "cluster" in main.commands else []),
    ):
        result = run_cli(workspace, *args)
        assert result.exit_code == 0, (args, result.stderr)
        outputs.append((args, result.stdout + result.stderr))
    table = outputs[0][1]
    assert "fixed     e-0" in table and "I am an idiot \\x1b[2J" in table  # the post is listed, its escapes visible
    for args, text in outputs:
        assert not raw_controls(text), (args, raw_controls(text))


async def test_tui_shows_escapes_inert(
    workspace: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items table, item detail (content, metadata, the model's rationale), on a replay whose model echoes the post."""
    from textual.widgets import DataTable, Static

    from modtui.tui.app import create_app
    from modtui.tui.screens.item_detail import ItemDetailScreen
    from modtui.workspace import Workspace

    evil_incident(workspace)
    write_targets(workspace, fake_server.url)
    set_test_keys(monkeypatch)

    def echo(request: FakeRequest) -> str:
        return json.dumps({"label": "toxic", "confidence": 0.9, "rationale": f"the post says {EVIL}"})

    fake_server.responder = echo
    ws = Workspace.open(workspace)
    app = create_app(ws, "INC-EVIL")
    seen: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("r")
        for box in app.screen.query(".target"):
            box.value = box.name in ("gpt-mini", "offline")  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await app.screen.replay_worker.wait()  # type: ignore[attr-defined]
        await pilot.pause()  # the screen has handled the replay's end
        await until(lambda: not app.screen.data.matrix_pending, what="the verdicts re-read after the replay")
        for screen_pass in range(2):
            for table in app.screen.query(DataTable):
                seen += [str(c) for r in range(table.row_count) for c in table.get_row_at(r)]
            seen += [str(s.render()) for s in app.screen.query(Static)]
            seen.append(app.export_screenshot())
            if screen_pass == 0:
                await pilot.press("1", "enter")
                await pilot.pause()
                assert isinstance(app.screen, ItemDetailScreen)
                assert "I am an idiot" in str(app.screen.query_one("#item-content").render())
    ws.close()
    assert any("the post says" in s for s in seen), "the model's rationale was on screen"
    for text in seen:
        assert not raw_controls(text), raw_controls(text)


# ------------------------------------------------------------------ a 1 MB item
BIG = 1_000_000


def big_content(i: int) -> str:
    if i == 0:
        return ("you idiot " + "lorem ipsum dolor sit amet " * (BIG // 27 + 1))[:BIG]
    return f"item-{i:05d} nice day"


@pytest.mark.parametrize("target", ["offline", "gpt-mini"])
def test_one_megabyte_item_is_cut_for_the_prompt_with_a_note(
    workspace: Path, fake_server: FakeServer, run_cli: Any, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODTUI_TEST_OPENAI_KEY", "sk-test-openai-0123456789")
    write_targets(workspace, fake_server.url)
    add_incident(workspace, "INC-BIG", 3, big_content)
    result = run_cli(workspace, "replay", "INC-BIG", "-m", target, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = {row["item_id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert len(lines) == 3 and lines["r-00000"]["verdict"] == "toxic"  # replayed, and judged on what was kept
    assert "cut for the prompt" in result.stderr and "r-00000" in result.stderr  # said, not silent
    details = dict(query(db_path(workspace), "SELECT item_id, detail FROM result"))
    assert "content truncated for the prompt" in (details["r-00000"] or "")  # the offline baseline reads as much
    assert "truncated" not in (details["r-00001"] or "")
    if target == "gpt-mini":
        (sent,) = [r for r in fake_server.requests if "lorem" in r.user_text]
        assert len(sent.user_text) < MAX_CONTENT_CHARS + 1_000
        assert f"{MAX_CONTENT_CHARS} of {BIG} characters kept" in sent.user_text  # the model is told too


async def test_one_megabyte_item_in_the_tui(workspace: Path) -> None:
    """The items table shows a preview; the detail opens without hanging."""
    from modtui.tui.app import create_app
    from modtui.tui.screens.item_detail import ItemDetailScreen
    from modtui.workspace import Workspace

    add_incident(workspace, "INC-BIG", 3, big_content)
    ws = Workspace.open(workspace)
    app = create_app(ws, "INC-BIG")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")
        await asyncio.wait_for(pilot.pause(), 30)
        assert isinstance(app.screen, ItemDetailScreen) and app.screen.item.id == "r-00000"
        await pilot.press("escape")
    ws.close()


# ------------------------------------------------------------------ ids are printed as they are: no escapes in them
@pytest.mark.parametrize("bad_id", ["i-\x1b]0;pwned\x07", "i-\x1b[2J", "i-\u202eevil", "i-a\rb", "i-\x9b31m"])
def test_item_id_with_control_characters_is_bad_input(workspace: Path, run_cli: Any, bad_id: str) -> None:
    """Item content is shown inert; an item id is shown as it is, so escapes in one are refused on load."""
    from test_validation import db_snapshot

    assert run_cli(workspace, "incident", "list").exit_code == 0
    before = db_snapshot(db_path(workspace))
    items = workspace / "incidents" / "INC-T1" / "items.jsonl"
    lines = items.read_text().splitlines()
    lines[1] = json.dumps({**json.loads(lines[1]), "id": bad_id})
    items.write_text("\n".join(lines) + "\n")
    result = run_cli(workspace, "replay", "INC-T1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("incidents/INC-T1/items.jsonl:2: id: must not contain control")
    assert not raw_controls(result.stderr), raw_controls(result.stderr)
    assert db_snapshot(db_path(workspace)) == before


def test_imported_id_with_control_characters_is_bad_input(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text('post_id,text,label\n"a\x1b[2Jb",hello,ok\nc,bye,toxic\n', encoding="utf-8")
    result = run_cli(
        workspace,
        "incident",
        "import",
        str(export),
        "--id",
        "INC-IMP",
        "--policy",
        "toxicity",
        "--content-col",
        "text",
        "--expected-col",
        "label",
        "--id-col",
        "post_id",
    )
    assert result.exit_code == 2 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert f"{export}:2: id in column 'post_id' must not contain control" in result.stderr
    assert not (workspace / "incidents" / "INC-IMP").exists()
