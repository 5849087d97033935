"""Shared fixtures: a clean environment, a copy of the small valid workspace, a CLI runner."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import textual._wait as _textual_wait
from click.testing import CliRunner, Result

# Textual's Pilot waits after each key (and in pause()) until the process looks idle: it sleeps in windows of
# SLEEP_GRANULARITY (20 ms) until one passes with under SLEEP_IDLE of CPU used, so each key cost at least 40 ms of
# an idle core (~30% of the TUI tests' wall). Windows of 5 ms keep the same rule (idle: under 1/20 of the window
# used) at a quarter of the wait. A test waits for the state it checks with `until`, not on this heuristic.
_textual_wait.SLEEP_GRANULARITY = 0.005
_textual_wait.SLEEP_IDLE = _textual_wait.SLEEP_GRANULARITY / 20

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
VALID_WORKSPACE = DATA / "workspace"
INCIDENT_ID = "INC-T1"


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the `modtui` processes the tests start, as it does from a terminal, even when the suite
    itself was started with SIGINT ignored (a shell's background job `make test &` ignores it, and children
    inherit an ignored signal: test_replay_resume.py's Ctrl-C would then never arrive)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's modtui settings; timeline authors are `tester`."""
    monkeypatch.setenv("MODTUI_AUTHOR", "tester")
    for name in ("MODTUI_DB", "MODTUI_WORKSPACE", "MODTUI_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def migrated_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite log with every migration applied, made once per test process: a copy of it is what a
    workspace's log is after its first command (migrating a new log costs ~0.1 s of CPU; copying it, ~1 ms).
    Tests of creating and migrating a log (test_store.py) open their own new files."""
    from modtui.store.db import open_store

    path = tmp_path_factory.mktemp("migrated-log") / "modtui.db"
    open_store(str(path)).close()
    assert not path.with_name("modtui.db-wal").exists(), "the template log must be checkpointed into one file"
    return path


def add_migrated_log(root: Path, template: Path) -> Path:
    """ROOT/.modtui/modtui.db as a copy of the migrated empty log `template` (the `migrated_log` fixture)."""
    log = root / ".modtui" / "modtui.db"
    log.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, log)
    return log


def copy_samples(dest: Path, template: Path, folders: tuple[str, ...] = ("incidents", "prompts")) -> Path:
    """DEST holding a copy of the repository's sample `folders` and, as its log, a copy of the migrated empty log
    `template` (the `migrated_log` fixture)."""
    for folder in folders:
        shutil.copytree(REPO / folder, dest / folder)
    add_migrated_log(dest, template)
    return dest


@pytest.fixture
def bare_workspace(tmp_path: Path) -> Path:
    """A fresh copy of tests/data/workspace with no log yet (the first command creates WORKSPACE/.modtui/modtui.db)."""
    dest = tmp_path / "ws"
    shutil.copytree(VALID_WORKSPACE, dest)
    return dest


@pytest.fixture
def workspace(bare_workspace: Path, migrated_log: Path) -> Path:
    """A fresh copy of tests/data/workspace whose log WORKSPACE/.modtui/modtui.db is migrated and empty."""
    add_migrated_log(bare_workspace, migrated_log)
    return bare_workspace


def run_cli(
    workspace: Path | None,
    *args: str,
    input: str | None = None,
    env: dict[str, str | None] | None = None,
    **kwargs: Any,
) -> Result:
    """`modtui --workspace WORKSPACE ARGS...` in-process; result.stdout / result.stderr are separate."""
    from modtui.cli import main

    argv = (["--workspace", str(workspace)] if workspace is not None else []) + [str(a) for a in args]
    return CliRunner().invoke(main, argv, input=input, env=env, **kwargs)


@pytest.fixture(name="run_cli")
def run_cli_fixture() -> Callable[..., Result]:
    return run_cli


# ---------------------------------------------------------------- replay: a fake provider server
# (added by the replay tests: test_providers.py, test_replay_engine.py, test_replay_cli.py)
OPENAI_KEY_ENV, ANTHROPIC_KEY_ENV = "MODTUI_TEST_OPENAI_KEY", "MODTUI_TEST_ANTHROPIC_KEY"
UNREACHABLE_URL = "http://127.0.0.1:9"  # what tests/data/workspace/modtui.toml points at


def toxicity_model(request: Any) -> str:
    """The fake server's 'model' for INC-T1: words in the content decide; the candidate policy text changes it.

    Production: toxic when the content has idiot/moron/hurt/destroy.
    Candidate (its system prompt names `self_deprecation`): "i am an idiot"/"i'm an idiot" is ok, and
    "moron" counts only when addressed to someone ("you").
    """
    content = request.user_text.split("<content>", 1)[-1].split("</content>", 1)[0].lower()
    threat = "hurt" in content or "destroy" in content
    if "self_deprecation" not in request.text:
        return "toxic" if threat or "idiot" in content or "moron" in content else "ok"
    idiot = "idiot" in content and "i am an idiot" not in content and "i'm an idiot" not in content
    moron = "moron" in content and "you" in content
    return "toxic" if threat or idiot or moron else "ok"


@pytest.fixture
def fake_server() -> Any:
    """tests/fakeserver.py in-process on 127.0.0.1, answering INC-T1 with `toxicity_model`."""
    try:
        from fakeserver import FakeServer
    except ImportError:  # tests/ imported as a package
        from tests.fakeserver import FakeServer
    with FakeServer() as server:
        server.labels = ["toxic", "ok"]
        server.responder = toxicity_model
        yield server


@pytest.fixture
def served_workspace(workspace: Path, fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test workspace with its targets' base_url pointing at `fake_server`, and test keys in the env."""
    config = workspace / "modtui.toml"
    config.write_text(config.read_text().replace(UNREACHABLE_URL, fake_server.url))
    monkeypatch.setenv(OPENAI_KEY_ENV, "sk-test-openai-0123456789")
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, "sk-ant-test-0123456789")
    return workspace


async def until(condition: Callable[[], object], timeout: float = 10, what: str = "") -> None:
    """Let the event loop (a replay, a Textual app under Pilot) run until `condition()` holds: a test waits for
    the state it expects, never for a fixed time. Fails after `timeout` seconds."""

    async def check() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        raise AssertionError(f"still waiting after {timeout} s{': ' + what if what else ''}") from None


def burst(app: Any, *keys: str) -> None:
    """Keys that arrive in one read from the terminal (a fast typist, tmux send-keys, a script): all queued on the
    app at once, where Pilot's press() lets it settle after each key. A key is a name ("down", "ctrl+s", "space")
    or one character."""
    from textual import events

    characters = {"enter": "\r", "space": " ", "tab": "\t"}
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else characters.get(key)))


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every HTTP target of the replay engine answers in-process from tests/queued_provider.py: `enqueue()`
    replies, read `history`; with the queue empty it answers like `toxicity_model`. For engine tests that
    are not about the wire (those use `fake_server`)."""
    from modtui.providers import registry
    from modtui.replay import engine

    try:
        from queued_provider import QueuedModel
    except ImportError:  # tests/ imported as a package
        from tests.queued_provider import QueuedModel

    model = QueuedModel(toxicity_model)
    monkeypatch.setattr(engine, "provider_class", model.provider_class(registry.provider_class))
    return model


# ---------------------------------------------------------------- the log on SQLite and on PostgreSQL
# `make test` runs pytest under scripts/pg-test-cluster, which starts a throwaway PostgreSQL cluster and
# exports its URL; the store and replay tests then run once on each database.
PG_URL_ENV, PG_SKIP_ENV = "MODTUI_TEST_PG_URL", "MODTUI_TEST_PG_SKIP"


def pg_admin_url() -> str:
    """The throwaway server's URL, or skip (fail under CI=true: CI must run the PostgreSQL tests)."""
    url = os.environ.get(PG_URL_ENV)
    reason = None
    if not url:
        reason = os.environ.get(PG_SKIP_ENV) or f"no PostgreSQL server: run `make test` or set {PG_URL_ENV}"
    elif importlib.util.find_spec("psycopg") is None:
        reason = "the PostgreSQL driver is not installed: pip install -e '.[postgres]'"
    if reason is None:
        return url  # type: ignore[return-value]
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL tests cannot run on CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """A new database on the test server (empty, or a copy of the database `template`), dropped afterwards;
    yields its URL. Names are random, so tests on several workers (pytest -n) never share one."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    admin_url = pg_admin_url()
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        if template and conn.dialect.server_version_info >= (15,):
            # a small template is copied as files in half the time PostgreSQL 15's default (WAL_LOG) takes; the
            # checkpoint FILE_COPY makes costs little on the test cluster (fsync=off). ~100 tests make one.
            copy += " STRATEGY FILE_COPY"
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_pg_template() -> Iterator[str]:
    """The name of a PostgreSQL database with every migration applied, made once per test process; `db_url`
    copies it (CREATE DATABASE ... TEMPLATE) instead of migrating each new database."""
    from modtui.store.db import open_store

    with fresh_pg_database() as url:
        open_store(url).close()  # no connection may stay open on a template
        yield url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The log of one test: None (the workspace's own SQLite file, migrated and empty) or the URL of a new
    PostgreSQL database, migrated and empty."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_pg_database(request.getfixturevalue("migrated_pg_template")) as url:
        yield url


@pytest.fixture
def ws(served_workspace: Path, db_url: str | None) -> Iterator[Any]:
    """The served workspace opened on its log: SQLite (the workspace's file) or a fresh PostgreSQL database.
    Modules that need more (an unpaced target, a migrated log) extend it with a fixture of the same name."""
    from modtui.workspace import Workspace

    workspace = Workspace.open(served_workspace, db_url)
    yield workspace
    workspace.close()
