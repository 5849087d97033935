"""Issue 7, keys and secrets: a canary key set in a target's env var never appears in the log (db, -wal, -shm),
a report, any command's stdout/stderr, the TUI's screen, or exception text — even when the provider echoes
the key back whole, cut, or in pieces, in error messages, refusals and the model's own answer."""

from __future__ import annotations

import asyncio
import html
import json
import re
import traceback
from pathlib import Path
from typing import Any

import pytest

from modtui.secrets import MASK, Scrubber
from conftest import until
from reliability_support import OPENAI_KEY_ENV, cli_env, db_path, query, run, write_targets

try:
    from fakeserver import FakeRequest, FakeServer, Fault
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeRequest, FakeServer, Fault

INC = "INC-T1"
CANARY = "sk-test-CANARY-7f3a9c2e5b1d4086aa51"
OTHER = "sk-ant-test-0123456789"
FRAGMENT = 8  # docs/reliability.md: the whole value and any piece of 8 characters or more


def leaks(text: str | bytes, secret: str = CANARY) -> list[str]:
    """Pieces of `secret` (FRAGMENT characters or longer) found in `text`."""
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return sorted({secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)} & _windows(data))


def _windows(data: str) -> set[str]:
    return {data[i : i + FRAGMENT] for i in range(len(data) - FRAGMENT + 1)}


def key_of(request: FakeRequest) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ") or request.headers.get("x-api-key", "")


def echoing(request: FakeRequest) -> Any:
    """A provider that repeats the caller's key in every way real ones do (and some they should not)."""
    key, text = key_of(request), request.user_text
    if "nice day" in text:  # the whole key in an error message
        return Fault("bad_request", message=f"Invalid request with key {key}")
    if "lovely" in text:  # a shortened key, as OpenAI's 401 shows it, in a 5xx
        return Fault(
            "server", message=f"upstream rejected {key[:10]}***{key[-6:]} and {key[:12]}…{key[-8:]}", should_retry=False
        )
    if "moron" in text:  # the model repeats the key in its rationale
        return json.dumps({"label": "toxic", "confidence": 0.9, "rationale": f"as {key} and {key[8:22]} said"})
    if "ref" in text:  # a refusal quoting a piece from the middle
        return f"I'm sorry, I can't share {key[5:19]}"
    return "toxic" if "idiot" in text or "hurt" in text or "destroy" in text else "ok"


def auth_echo(request: FakeRequest) -> Fault:
    return Fault("auth", message=f"Incorrect API key provided: {key_of(request)}. You can find your key at …")


@pytest.fixture
def canary_ws(workspace: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(OPENAI_KEY_ENV, CANARY)
    monkeypatch.setenv("MODTUI_TEST_ANTHROPIC_KEY", OTHER)
    write_targets(workspace, fake_server.url, max_retries=0)
    return workspace


def screen_text(app: Any) -> str:
    """Everything the current screen shows: each widget's render, every table cell, and the SVG screenshot."""
    from textual.widgets import DataTable

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, DataTable):
            parts += [str(cell) for r in range(widget.row_count) for cell in widget.get_row_at(r)]
        else:
            try:
                parts.append(str(widget.render()))
            except Exception:  # noqa: BLE001  some containers cannot render alone
                pass
    svg = app.export_screenshot()
    parts.append(html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " "))
    return "\n".join(parts)


def test_canary_never_stored_or_shown(canary_ws: Path, fake_server: FakeServer, run_cli: Any) -> None:
    from modtui.cli import main
    from modtui.tui.app import create_app
    from modtui.tui.screens.item_detail import ItemDetailScreen
    from modtui.tui.screens.workbench import WorkbenchScreen
    from modtui.workspace import Workspace

    env = cli_env(**{OPENAI_KEY_ENV: CANARY, "MODTUI_TEST_ANTHROPIC_KEY": OTHER})
    outputs: list[tuple[str, str]] = []

    def cli(*args: str, code: int | None = 0, process: bool = False) -> Any:
        """`modtui ARGS` as a real process (everything it writes), or in-process (faster) through click."""
        if process:
            done = run(canary_ws, *args, env=env)
            out, err, exit_code = done.stdout, done.stderr, done.returncode
        else:
            result = run_cli(canary_ws, *args)
            out, err, exit_code = result.stdout, result.stderr, result.exit_code
            if result.exception and not isinstance(result.exception, SystemExit):
                err += "".join(traceback.format_exception(result.exception))
        outputs.append((" ".join(args), out + err))
        if code is not None:
            assert exit_code == code, (args, err)
        return err

    fake_server.responder = echoing
    cli("replay", INC, "-m", "gpt-mini", "-p", "prompts/toxicity/candidate.yaml")
    assert fake_server.count() == 24  # the echoing calls happened
    errors = {r.outcome for r in fake_server.requests}
    assert {"bad_request", "server", "ok"} <= errors
    fake_server.responder = auth_echo  # now the key is rejected, and echoed whole
    auth = cli("replay", INC, "-m", "gpt-mini", "--no-cache", code=2, process=True)
    assert "authentication failed for target 'gpt-mini'" in auth and MASK in auth
    cli("--debug", "replay", INC, "-m", "gpt-mini", "--no-cache", "--format", "json", code=2)
    cli("replay", INC, "-m", "gpt-mini", "--no-cache", "--format", "jsonl", code=2)
    cli("runs", "list")
    cli("runs", "list", "--format", "json")
    for run_id in ("1", "2", "3"):
        cli("runs", "show", run_id)
        cli("runs", "show", run_id, "--format", "json")
    cli("runs", "compare", "1", "2", "--format", "json")
    cli("incident", "show", INC)
    cli("targets")
    if "report" in main.commands:  # `modtui report` (built alongside): markdown and JSON
        cli("report", INC, code=None)
        cli("report", INC, "--format", "json", code=None)

    # the TUI on this log: a replay that hits the rejected key, the no-verdict items, and one item's detail
    query(db_path(canary_ws), "DELETE FROM response_cache")  # so the TUI's replay calls the provider
    shown: list[str] = []

    async def tui() -> None:
        ws = Workspace.open(canary_ws)
        app = create_app(ws, INC)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            assert isinstance(screen, WorkbenchScreen)
            await pilot.press("r")
            for box in app.screen.query(".target"):
                box.value = box.name == "gpt-mini"  # type: ignore[attr-defined]
            await pilot.press("ctrl+r")
            assert screen.replay_worker is not None
            await screen.replay_worker.wait()
            await pilot.pause()  # the screen has handled the replay's end
            await until(lambda: not screen.data.matrix_pending, what="the verdicts re-read after the replay")
            shown.append(screen_text(app))
            await pilot.press("7")  # the items without a verdict
            shown.append(screen_text(app))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ItemDetailScreen)
            assert app.screen.history, "a failed item's verdicts are listed"
            shown.append(screen_text(app))
            for _ in range(3):  # each of the next few failed items
                await pilot.press("escape", "down", "enter")
                await pilot.pause()
                shown.append(screen_text(app))
        ws.close()

    asyncio.run(tui())
    assert any("auth" in text for text in shown)  # the screens did show the failures

    for name, text in outputs:
        assert not leaks(text), f"`modtui {name}` printed {leaks(text)}"
    for i, text in enumerate(shown):
        assert not leaks(text), f"TUI screen {i} shows {leaks(text)}"
    files = sorted(db_path(canary_ws).parent.iterdir())
    assert files, "the log exists"
    for path in files:  # modtui.db, and -wal / -shm when present
        assert not leaks(path.read_bytes()), f"{path.name} holds {leaks(path.read_bytes())}"
    for path in canary_ws.rglob("*"):
        if path.is_file():
            assert not leaks(path.read_bytes()), f"{path} holds a piece of the key"


async def test_exception_text_from_a_broken_adapter_is_scrubbed(
    canary_ws: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter that raises with the key in its message: recorded as `internal`, the key masked."""
    from modtui.providers.openai import OpenAIProvider
    from modtui.services import replay as svc
    from modtui.store import runs as q
    from modtui.workspace import Workspace

    async def explode(self: Any, request: Any) -> Any:
        raise RuntimeError(
            f"client state dump: api_key={self.api_key!r} headers={{'Authorization': 'Bearer {self.api_key}'}}"
        )

    monkeypatch.setattr(OpenAIProvider, "complete", explode)
    ws = Workspace.open(canary_ws)
    try:
        spec = svc.ReplaySpec(INC, targets=["gpt-mini"])
        plan = svc.plan(ws, spec)
        rep = await svc.execute(ws, plan, spec)
        with ws.store().read() as session:
            rows = q.results_of(session, rep.runs[0].run.id)
        assert len(rows) == 12 and {r.error_type for r in rows} == {"internal"}
        for row in rows:
            assert MASK in (row.detail or "") and not leaks(row.detail or ""), row.detail
        assert not leaks(json.dumps(rep.as_dict()))
    finally:
        ws.close()
    assert not leaks(db_path(canary_ws).read_bytes())


async def test_sdk_default_key_variable_is_scrubbed(
    canary_ws: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target that names no key variable (a gateway that injects its own auth, say): the Anthropic SDK falls back
    to $ANTHROPIC_API_KEY on its own. That key is never configured in modtui.toml, yet it is what the provider
    echoes — it must be masked too. (A target whose named variable is unset is refused before any call.)"""
    from modtui.services import replay as svc
    from modtui.store import runs as q
    from modtui.workspace import Workspace

    monkeypatch.delenv("MODTUI_TEST_ANTHROPIC_KEY")
    config = canary_ws / "modtui.toml"
    config.write_text(config.read_text().replace('api_key_env = "MODTUI_TEST_ANTHROPIC_KEY"\n', ""))
    monkeypatch.setenv(OPENAI_KEY_ENV, "sk-test-openai-0123456789")  # the canary is in no configured variable
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    fake_server.responder = lambda r: Fault("bad_request", message=f"bad request from {key_of(r)}")
    ws = Workspace.open(canary_ws)
    try:
        spec = svc.ReplaySpec(INC, targets=["claude"])
        plan = svc.plan(ws, spec)
        rep = await svc.execute(ws, plan, spec)
        assert fake_server.count() == 12 and key_of(fake_server.requests[0].request) == CANARY  # type: ignore[arg-type]
        with ws.store().read() as session:
            details = [r.detail or "" for r in q.results_of(session, rep.runs[0].run.id)]
        assert all(MASK in d and not leaks(d) for d in details), details[:2]
    finally:
        ws.close()
    for path in db_path(canary_ws).parent.iterdir():
        assert not leaks(path.read_bytes()), path.name


@pytest.mark.parametrize(
    "shown",
    [
        f"key {CANARY} end",
        f"Incorrect API key provided: {CANARY[:10]}***{CANARY[-6:]}",  # OpenAI's 401 shape: head kept
        f"{CANARY[:12]}…{CANARY[-8:]}",
        f"middle {CANARY[9:25]} only",
        f"twice {CANARY[3:14]}{CANARY[3:14]} glued",
        f"off by one {CANARY[:-1]} / {CANARY[1:]}",
        f'{{"error": {{"message": "key={CANARY}"}}}}',
        f"{CANARY}{CANARY}",
    ],
)
def test_scrubber_masks_the_key_and_long_pieces(shown: str) -> None:
    scrub = Scrubber([CANARY, OTHER])
    out = scrub(shown)
    assert out is not None and not leaks(out) and MASK in out, out
    assert scrub(out) == out  # idempotent


def test_scrubber_leaves_other_text_alone() -> None:
    scrub = Scrubber([CANARY, OTHER, None, "short"])
    text = "The post calls someone an idiot; sk-… is not a key; test-CA is too short to matter. ✓ 8765 4321"
    assert scrub(text) == text
    assert scrub(None) is None and scrub("") == ""
    assert Scrubber([])(f"{CANARY}") == CANARY  # nothing configured, nothing known


def test_scrubber_finds_a_fragment_at_the_end_of_a_megabyte() -> None:
    scrub = Scrubber([CANARY, OTHER])  # how long it takes: bench/micro.py
    text = ("lorem ipsum dolor sit amet " * 40_000) + CANARY[4:20]
    out = scrub(text)
    assert out is not None and out.endswith(MASK) and not leaks(out)
