"""Helpers shared by the tests that run modtui as a process (and bench/faults.py): generated incidents, targets
pointing at a fake server, the log read back with plain sqlite3, and `modtui` run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAKESERVER = Path(__file__).resolve().parent / "fakeserver.py"
OPENAI_KEY_ENV, ANTHROPIC_KEY_ENV = "MODTUI_TEST_OPENAI_KEY", "MODTUI_TEST_ANTHROPIC_KEY"
# what a result row's outcome / error_type becomes in `no_verdict_by_type` and the CLI's summary line
TYPED = (
    "rate_limit",
    "server",
    "timeout",
    "connection",
    "bad_response",
    "truncated",
    "refusal",
    "auth",
    "bad_request",
    "parse_error",
)


def add_incident(
    root: Path,
    incident_id: str,
    n: int,
    content: Callable[[int], str] = lambda i: f"item-{i:05d} post",
    prefix: str = "r",
) -> list[str]:
    """An incident like INC-T1 (labels toxic/ok, production prompt toxicity/production) with `n` items."""
    folder = root / "incidents" / incident_id
    folder.mkdir(parents=True)
    header = (root / "incidents" / "INC-T1" / "incident.yaml").read_text().replace("id: INC-T1", f"id: {incident_id}")
    (folder / "incident.yaml").write_text(header)
    ids = [f"{prefix}-{i:05d}" for i in range(n)]
    with (folder / "items.jsonl").open("w", encoding="utf-8") as out:
        for i, item_id in enumerate(ids):
            out.write(
                json.dumps(
                    {"id": item_id, "content": content(i), "expected": "toxic" if i % 2 else "ok", "observed": "ok"},
                    ensure_ascii=False,
                )
                + "\n"
            )
    return ids


def write_targets(
    root: Path, url: str, *, concurrency: int = 4, max_retries: int = 2, timeout: float = 30.0, extra: str = ""
) -> None:
    """modtui.toml with `gpt-mini` (openai) and `claude` (anthropic) at the fake server, no rate budget."""
    common = f"concurrency = {concurrency}\nmax_retries = {max_retries}\ntimeout = {timeout}\n"
    (root / "modtui.toml").write_text(
        '[workspace]\nauthor = "tester"\n\n'
        f'[targets.gpt-mini]\nprovider = "openai"\nmodel = "gpt-4o-mini"\napi_key_env = "{OPENAI_KEY_ENV}"\n'
        f'base_url = "{url}/v1"\n{common}price_in_per_mtok = 0.15\nprice_out_per_mtok = 0.60\n\n'
        "[targets.gpt-mini.params]\ntemperature = 0\nmax_tokens = 200\n\n"
        f'[targets.claude]\nprovider = "anthropic"\nmodel = "claude-haiku"\napi_key_env = "{ANTHROPIC_KEY_ENV}"\n'
        f'base_url = "{url}"\n{common}\n' + extra
    )


# ---------------------------------------------------------------- the log, read with plain sqlite3
def db_path(root: Path) -> Path:
    return root / ".modtui" / "modtui.db"


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(sql, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def results_by_item(db: Path, run_id: int) -> dict[str, tuple[str, str | None]]:
    """item id → (outcome, error_type) of a run's results; asserts there is one row per item."""
    rows = query(db, "SELECT item_id, outcome, error_type FROM result WHERE run_id = ?", run_id)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "an item has two results"
    return {item: (outcome, error) for item, outcome, error in rows}


def result_type(outcome: str, error_type: str | None) -> str:
    """How a result is counted: its label outcome, or its non-verdict type (error → the error type)."""
    return (error_type or "error") if outcome == "error" else outcome


def type_counts(db: Path, run_id: int) -> Counter[str]:
    return Counter(result_type(o, e) for o, e in results_by_item(db, run_id).values())


def runs(db: Path) -> list[tuple[int, str, str, str]]:
    """(id, target, prompt_version, status) of every run, oldest first."""
    return query(db, "SELECT id, target_name, prompt_version, status FROM run ORDER BY id")


# ---------------------------------------------------------------- modtui as a real process
TEST_KEYS = {OPENAI_KEY_ENV: "sk-test-openai-0123456789", ANTHROPIC_KEY_ENV: "sk-ant-test-0123456789"}


def set_test_keys(monkeypatch: Any) -> None:
    """The targets' key variables, set for an in-process replay (a target whose variable is unset is refused)."""
    for name, value in TEST_KEYS.items():
        monkeypatch.setenv(name, value)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODTUI_")}
    env.update({"MODTUI_AUTHOR": "tester", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **TEST_KEYS})
    env.update(extra)
    return env


def modtui_cmd(root: Path, *args: str) -> list[str]:
    """The installed `modtui` script beside this interpreter (else the same entry point through -c)."""
    script = Path(sys.executable).with_name("modtui")
    head = [str(script)] if script.exists() else [sys.executable, "-c", "from modtui.cli import main; main()"]
    return [*head, "--workspace", str(root), *args]


def spawn(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        modtui_cmd(root, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or cli_env(),
        cwd=root,
    )


def run(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        modtui_cmd(root, *args), capture_output=True, text=True, env=env or cli_env(), cwd=root, timeout=timeout
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def interrupt(proc: subprocess.Popen[str], sig: signal.Signals, timeout: float = 30) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def start_fakeserver(*args: str) -> tuple[subprocess.Popen[str], int]:
    """tests/fakeserver.py as a separate process; returns it and its port."""
    proc = subprocess.Popen([sys.executable, str(FAKESERVER), "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT="):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, int(line.removeprefix("PORT="))
