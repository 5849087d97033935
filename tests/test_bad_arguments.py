"""Issue 7, bad input on the command line: every bad argument is exit 2 with one clear message, no traceback,
nothing on stdout, and the log's bytes unchanged (the file corpus is tests/data/bad/, run by test_validation.py;
malformed model replies are data, see test_parsing.py and test_provider_faults.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_validation import db_snapshot

INC = "INC-T1"
BIG = "9" * 20  # beyond any id column: the driver would raise OverflowError (SQLite) or DataError (PostgreSQL)
CASES: list[tuple[list[str], str]] = [
    (["replay", "INC-NOPE"], "no incident 'INC-NOPE'"),
    (["replay", "../INC-T1"], "no incident '../INC-T1'"),
    (["replay"], "INCIDENT_ID"),
    (["replay", INC, "--format", "xml"], "'--format'"),
    (["replay", INC, "-j", "0"], "'-j'"),
    (["replay", INC, "-j", "-1"], "'-j'"),
    (["replay", INC, "-j", "many"], "'-j'"),
    (["replay", INC, "--min-recall", "1.01"], "'--min-recall'"),
    (["replay", INC, "--min-recall", "-0.1"], "'--min-recall'"),
    (["replay", INC, "--min-recall", "nan"], "'--min-recall'"),  # NaN would make the gate never fail
    (["replay", INC, "--min-precision", "2"], "'--min-precision'"),
    (["replay", INC, "--min-precision", "inf"], "'--min-precision'"),
    (["replay", INC, "--min-precision", "high"], "'--min-precision'"),
    (["replay", INC, "-m", "gpt-mni"], "did you mean 'gpt-mini'"),
    (["replay", INC, "-m", "nope"], "no target 'nope'"),
    (["replay", INC, "-p", "toxicity/nope"], "no prompt file 'toxicity/nope'"),
    (["replay", INC, "-p", "prompts/toxicity"], "no prompt file 'prompts/toxicity'"),
    (["replay", INC, "--baseline", "nonsense"], "--baseline"),
    (["replay", INC, "--baseline", "999"], "no run 999"),
    (["replay", INC, "--baseline", "-1"], "--baseline"),
    (["replay", INC, "--baseline", ""], "--baseline"),
    (["replay", INC, "--items", "some"], "'--items'"),
    (["replay", INC, "--no-such-option"], "No such option"),
    (["runs", "show", "abc"], "'RUN_ID'"),
    (["runs", "show", "999"], "no run 999"),
    (["runs", "compare", "1", "999"], "no run 999"),
    (["runs", "list", "INC-NOPE"], "INC-NOPE"),
    (["report", "INC-NOPE"], "INC-NOPE"),
    # a --db URL that is not a log modtui can open (another database, a typo in the scheme, a bad port)
    (["--db", "bogus://x", "runs", "list"], "not a log modtui can open"),
    (["--db", "mysql://u@h/db", "finding", "list"], "not a log modtui can open"),
    (["--db", "postgresql://u:pw@h:port/db", "runs", "list"], "not a PostgreSQL URL"),
    # NaN and inf: no threshold, no cost (and `NaN` in --format json is not JSON)
    (["runs", "show", "1", "--fp-cost", "nan"], "--fp-cost"),
    (["runs", "show", "1", "--fn-cost", "inf"], "--fn-cost"),
    (["runs", "show", "1", "--fn-cost", "-1"], "--fn-cost"),
    (["replay", INC, "--max-cost", "inf", "--dry-run"], "--max-cost: inf is not a finite amount above 0"),
    (["replay", INC, "--max-cost", "nan", "--dry-run"], "--max-cost: nan is not a finite amount above 0"),
    (["queue", INC, "--threshold", "nan"], "'--threshold'"),
    (["queue", INC, "--band", "nan"], "'--band'"),
    (["probe", INC, "--mutations", "leet", "--fail-over", "nan"], "'--fail-over'"),
    (
        ["sample", "plan", "--population", "9", "--expected-prevalence", "nan", "--target-halfwidth", "0.1"],
        "'--expected-prevalence'",
    ),
    (
        ["sample", "plan", "--population", "9", "--expected-prevalence", "0.5", "--target-halfwidth", "nan"],
        "'--target-halfwidth'",
    ),
    # an id no row can have is a missing one, in every command that takes an id
    (["runs", "show", BIG], f"no run {BIG}"),
    (["runs", "compare", "1", BIG], f"no run {BIG}"),
    (["runs", "poll", BIG], f"no run {BIG}"),
    (["finding", "show", BIG], f"no finding {BIG}"),
    (["finding", "resolve", BIG, "-r", "x"], f"no finding {BIG}"),
    (["finding", "supersede", "1", "--by", BIG], "no finding"),
    (["finding", "add", INC, "-c", "policy_gap", "-s", "x", "--run", BIG], f"no run {BIG}"),
    (["golden", "add", INC, "--set", "g", "--items", "fixed", "--run", BIG], f"no run {BIG}"),
    (["replay", INC, "--baseline", BIG], f"no run {BIG}"),
    (["select", INC, "--runs", f"1,{BIG}"], f"no run {BIG}"),
    (["cascade", INC, "--stage", BIG, "--stage", "1"], f"no run {BIG}"),
    # names the file system refuses (issue 17): too long, or reserved on Windows — exit 2, never an OSError
    (["replay", INC, "-p", "p" * 300], "no prompt file"),
    (["replay", INC, "-p", "/etc/passwd"], "resolves outside the workspace"),
    (["--workspace", "w" * 300, "incident", "list"], "--workspace: cannot be used as a folder"),
    (["incident", "new", "--id", "INC-X", "--policy", "p" * 300], "--policy"),
    (["incident", "new", "--id", "INC-X", "--policy", "COM1"], "--policy"),
    (["incident", "new", "--id", "INC-X", "--policy", "../prompts"], "--policy"),
    (["incident", "new", "--id", "CON", "--policy", "toxicity"], "Windows reserves"),
    (["incident", "new", "--id", "i" * 300, "--policy", "toxicity"], "incident id"),
    (["golden", "add", INC, "--set", "NUL"], "Windows reserves"),
    (["golden", "add", INC, "--set", "g", "--items", ""], "--items: '' names no item"),  # it copied every item
    (["golden", "add", INC, "--set", "g", "--items", " , "], "names no item"),
    # labels the production prompt does not have: an incident `validate` would refuse
    (["incident", "new", "--id", "INC-X", "--policy", "toxicity", "--labels", "a,b"], "--labels"),
    (["incident", "new", "--id", "INC-X", "--policy", "toxicity", "--labels", "toxic,okay"], "['okay']"),
    (["golden", "add", INC, "--set", "g" * 300], "--set"),
]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, migrated_log: Path) -> Path:
    """A workspace whose log already holds a replay (run 1), so there is something to lose."""
    import shutil

    from conftest import VALID_WORKSPACE, add_migrated_log, run_cli

    root = tmp_path_factory.mktemp("input") / "ws"
    shutil.copytree(VALID_WORKSPACE, root)
    add_migrated_log(root, migrated_log)
    result = run_cli(root, "replay", INC, env={"MODTUI_AUTHOR": "tester"})
    assert result.exit_code == 0, result.stderr
    return root


@pytest.mark.parametrize("args, message", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_argument_exit_2_one_message_log_unchanged(
    logged: Path, run_cli: Any, args: list[str], message: str
) -> None:
    from modtui.cli import main

    if args[0] not in main.commands and not args[0].startswith("-"):
        pytest.skip(f"no `modtui {args[0]}` command yet")
    db = logged / ".modtui" / "modtui.db"
    before = db_snapshot(db)
    result = run_cli(logged, *args)
    shown = f"exit {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.exit_code == 2, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert result.stdout == "", shown
    usage = ("Usage:", "Try '")  # click's two lines of usage before its one error line
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(usage)]
    assert len(errors) == 1 and message in errors[0], shown  # one clear message
    after = db_snapshot(db)
    assert after[1] == before[1], "the log's rows changed"
    assert after[0] == before[0], "the log's bytes changed"
