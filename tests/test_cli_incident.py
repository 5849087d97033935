"""The incident CLI: list, show, status, new, targets, prompt diff, validate, workspace/db selection."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import INCIDENT_ID

COUNTS = {"false_positive": 3, "false_negative": 2, "guard": 5, "eval": 2}


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- list / show -------------------------------------------------------------------------------


def test_list_table(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "list")
    assert result.exit_code == 0, result.stderr
    header, line = result.stdout.splitlines()
    assert header.split() == [
        "ID",
        "SEVERITY",
        "STATUS",
        "TITLE",
        "ITEMS",
        "FALSE_POSITIVE",
        "FALSE_NEGATIVE",
        "GUARD",
        "OPEN_FINDINGS",
        "LAST_ACTIVITY",
    ]
    assert line.split()[:3] == [INCIDENT_ID, "SEV3", "open"]
    assert "Self-deprecating jokes removed as insults" in line
    assert line.split()[-6:] == ["12", "3", "2", "5", "0", "2026-11-20T08:14:00Z"]
    assert (workspace / ".modtui" / "modtui.db").is_file()


def test_list_json(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["incidents"]
    (row,) = data["incidents"]
    assert row == {
        "id": INCIDENT_ID,
        "title": "Self-deprecating jokes removed as insults",
        "severity": "SEV3",
        "status": "open",
        "policy": "toxicity",
        "items": 12,
        **COUNTS,
        "open_findings": 0,
        "runs": 0,
        "last_activity": "2026-11-20T08:14:00Z",
    }


def test_list_sorted_by_severity_then_id(workspace: Path, run_cli) -> None:
    src = workspace / "incidents" / INCIDENT_ID
    for new_id, severity in (("INC-A", "SEV4"), ("INC-B", "SEV1"), ("INC-C", "SEV3")):
        folder = workspace / "incidents" / new_id
        folder.mkdir()
        text = (src / "incident.yaml").read_text().replace(INCIDENT_ID, new_id).replace("SEV3", severity)
        (folder / "incident.yaml").write_text(text)
        (folder / "items.jsonl").write_text((src / "items.jsonl").read_text())
    data = json.loads(run_cli(workspace, "incident", "list", "--format", "json").stdout)
    assert [r["id"] for r in data["incidents"]] == ["INC-B", "INC-C", INCIDENT_ID, "INC-A"]


def test_list_empty_workspace(tmp_path: Path, run_cli) -> None:
    result = run_cli(tmp_path, "incident", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"incidents": []}


def test_show_text_and_json(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "show", INCIDENT_ID)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"{INCIDENT_ID}  Self-deprecating jokes removed as insults\n")
    assert "severity SEV3 · status open · policy toxicity" in out
    assert "production: prompts/toxicity/production.yaml on offline" in out
    assert "labels: toxic, ok (positive: toxic)" in out
    assert "items: false_positive 3, false_negative 2, guard 5, eval 2" in out
    assert "timeline: (empty)" in out

    data = json.loads(run_cli(workspace, "incident", "show", INCIDENT_ID, "--format", "json").stdout)
    assert set(data) == {"incident", "counts", "timeline"}
    assert data["incident"]["id"] == INCIDENT_ID
    assert data["incident"]["labels"] == ["toxic", "ok"]
    assert data["incident"]["production"] == {"prompt": "prompts/toxicity/production.yaml", "model": "offline"}
    assert data["counts"] == COUNTS
    assert data["timeline"] == []


def test_show_keeps_untrusted_text_inert(workspace: Path, run_cli) -> None:
    path = workspace / "incidents" / INCIDENT_ID / "incident.yaml"
    path.write_text(
        path.read_text().replace(
            "title: Self-deprecating jokes removed as insults", 'title: "evil \\e[31mred\\e[0m title"'
        )
    )
    result = run_cli(workspace, "incident", "show", INCIDENT_ID)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "evil \\x1b[31mred" in result.stdout


def test_unknown_incident_suggests(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "show", "INC-T2")
    assert result.exit_code == 2
    assert "no incident 'INC-T2' (did you mean 'INC-T1'?)" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


# -- status ------------------------------------------------------------------------------------


def test_status_rewrites_yaml_keeping_comments_and_logs_event(workspace: Path, run_cli) -> None:
    path = workspace / "incidents" / INCIDENT_ID / "incident.yaml"
    before = path.read_text()
    result = run_cli(workspace, "incident", "status", INCIDENT_ID, "investigating", "--note", "looking at rule")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{INCIDENT_ID}: open → investigating"
    after = path.read_text()
    assert after == before.replace("status: open   #", "status: investigating   #")
    assert "# A small test incident." in after

    db = workspace / ".modtui" / "modtui.db"
    assert rows(db, "SELECT incident_id, author, kind, summary FROM event") == [
        (INCIDENT_ID, "tester", "status", "status open → investigating: looking at rule")
    ]
    assert rows(db, "SELECT status FROM incident") == [("investigating",)]
    data = json.loads(run_cli(workspace, "incident", "show", INCIDENT_ID, "--format", "json").stdout)
    assert data["incident"]["status"] == "investigating"
    assert [(e["author"], e["kind"]) for e in data["timeline"]] == [("tester", "status")]

    again = run_cli(workspace, "incident", "status", INCIDENT_ID, "investigating")
    assert again.exit_code == 2
    assert "already 'investigating'" in again.stderr

    run_cli(workspace, "incident", "status", INCIDENT_ID, "resolved", "--author", "alice")
    assert rows(db, "SELECT author, summary FROM event ORDER BY id") == [
        ("tester", "status open → investigating: looking at rule"),
        ("alice", "status investigating → resolved"),
    ]


def test_status_keeps_crlf_and_appends_when_absent(workspace: Path, run_cli) -> None:
    path = workspace / "incidents" / INCIDENT_ID / "incident.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run_cli(workspace, "incident", "status", INCIDENT_ID, "mitigated").exit_code == 0
    data = path.read_bytes()
    assert b"\nstatus: mitigated   # open | investigating | mitigated | resolved\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")

    path.write_bytes(
        data.replace(b"status: mitigated   # open | investigating | mitigated | resolved\r\n", b"").replace(
            b"\r\n", b"\n"
        )
    )
    assert run_cli(workspace, "incident", "status", INCIDENT_ID, "resolved").exit_code == 0
    assert path.read_text().endswith("status: resolved\n")


def test_status_rejects_unknown_value(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "status", INCIDENT_ID, "closed")
    assert result.exit_code == 2
    assert "'closed' is not one of" in result.stderr


# -- new ---------------------------------------------------------------------------------------


def test_new_creates_valid_incident_and_refuses_overwrite(workspace: Path, run_cli, tmp_path: Path) -> None:
    result = run_cli(
        workspace,
        "incident",
        "new",
        "--id",
        "INC-N1",
        "--policy",
        "toxicity",
        "--title",
        "A new one",
        "--severity",
        "SEV2",
    )
    assert result.exit_code == 0, result.stderr
    folder = workspace / "incidents" / "INC-N1"
    text = (folder / "incident.yaml").read_text()
    assert "id: INC-N1\n" in text and 'title: "A new one"\n' in text and "severity: SEV2\n" in text
    assert "labels: [toxic, ok]\n" in text and "positive_label: toxic\n" in text
    assert "production: {prompt: prompts/toxicity/production.yaml, model: offline}" in text
    assert (folder / "items.jsonl").read_text() == ""

    (folder / "items.jsonl").write_text('{"id": "a", "content": "x", "expected": "ok", "observed": "ok"}\n')
    again = run_cli(workspace, "incident", "new", "--id", "INC-N1", "--policy", "toxicity")
    assert again.exit_code == 2
    assert again.stderr.startswith("incidents/INC-N1: incident already exists; use --force")
    assert (folder / "items.jsonl").read_text().startswith('{"id": "a"')

    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "b", "content": "you moron", "expected": "toxic", "observed": "ok"}\n')
    forced = run_cli(
        workspace, "incident", "new", "--id", "INC-N1", "--policy", "toxicity", "--force", "--items", str(items)
    )
    assert forced.exit_code == 0, forced.stderr
    assert (folder / "items.jsonl").read_text() == items.read_text()
    shown = json.loads(run_cli(workspace, "incident", "show", "INC-N1", "--format", "json").stdout)
    assert shown["counts"] == {"false_negative": 1}


def test_new_quotes_values_yaml_would_misread(workspace: Path, run_cli) -> None:
    prompt = workspace / "prompts/toxicity/production.yaml"  # labels YAML would misread, the prompt's own
    prompt.write_text(
        prompt.read_text().replace("labels: [toxic, ok]", "labels: [toxic, ok, 'not sure: maybe', 'yes']")
    )
    result = run_cli(
        workspace,
        "incident",
        "new",
        "--id",
        "0042",
        "--policy",
        "toxicity",
        "--model",
        "a, b}: c",
        "--title",
        'He said "hi": #1',
        "--labels",
        "toxic,ok,not sure: maybe,yes",
    )
    assert result.exit_code == 0, result.stderr
    (workspace / "incidents/0042/items.jsonl").write_text(
        '{"id": "a", "content": "x", "expected": "not sure: maybe", "observed": "yes"}\n'
    )
    data = json.loads(run_cli(workspace, "incident", "show", "0042", "--format", "json").stdout)
    inc = data["incident"]
    assert inc["id"] == "0042"
    assert inc["title"] == 'He said "hi": #1'
    assert inc["labels"] == ["toxic", "ok", "not sure: maybe", "yes"]
    assert inc["production"]["model"] == "a, b}: c"


def test_new_with_bad_items_names_the_users_file(workspace: Path, run_cli, tmp_path: Path) -> None:
    items = tmp_path / "mine.jsonl"
    items.write_text('{"id": "a", "content": "x", "expected": "ok"}\n{"id": "b", "content": "y", "expected": "meh"}\n')
    result = run_cli(workspace, "incident", "new", "--id", "INC-N2", "--policy", "toxicity", "--items", str(items))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{items}:2: expected label 'meh'")
    assert not (workspace / "incidents" / "INC-N2").exists()
    assert not list((workspace / "incidents").glob(".staging-*"))

    missing = run_cli(
        workspace, "incident", "new", "--id", "INC-N2", "--policy", "toxicity", "--items", str(tmp_path / "nope.jsonl")
    )
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    assert not list((workspace / "incidents").glob(".staging-*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--id", "bad id", "--policy", "toxicity"], "incident id: use letters"),
        (["--id", "INC-N3", "--policy", "toxicty"], "no prompts for policy 'toxicty' (did you mean 'toxicity'?)"),
        (
            ["--id", "INC-N3", "--policy", "toxicity", "--labels", "ok,toxic", "--positive-label", "c"],
            "'c' must be one of",
        ),
        (
            ["--id", "INC-N3", "--policy", "toxicity", "--labels", "toxic,okay"],
            "['okay'] are not labels of the toxicity",
        ),
    ],
)
def test_new_bad_arguments(workspace: Path, run_cli, args: list[str], message: str) -> None:
    result = run_cli(workspace, "incident", "new", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in (workspace / "incidents").iterdir()] == [INCIDENT_ID]


# -- targets -----------------------------------------------------------------------------------


def test_targets_shows_key_presence_never_the_value(workspace: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-test-CANARY-123"
    monkeypatch.setenv("MODTUI_TEST_OPENAI_KEY", canary)
    monkeypatch.delenv("MODTUI_TEST_ANTHROPIC_KEY", raising=False)
    table = run_cli(workspace, "targets")
    assert table.exit_code == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert set(lines) == {"offline", "gpt-mini", "claude"}
    assert "MODTUI_TEST_OPENAI_KEY" in lines["gpt-mini"] and " set " in lines["gpt-mini"]
    assert " missing " in lines["claude"]
    assert "not needed" in lines["offline"]

    data = json.loads(run_cli(workspace, "targets", "--format", "json").stdout)
    by_name = {t["name"]: t for t in data["targets"]}
    assert by_name["gpt-mini"]["key"] == "set" and by_name["gpt-mini"]["key_env"] == "MODTUI_TEST_OPENAI_KEY"
    assert by_name["claude"]["key"] == "missing"
    assert by_name["gpt-mini"]["base_url"] == "http://127.0.0.1:9/v1"
    for result in (table, run_cli(workspace, "targets", "--format", "json"), run_cli(workspace, "incident", "list")):
        assert canary not in result.stdout + result.stderr


def test_targets_without_config_has_offline_only(tmp_path: Path, run_cli) -> None:
    data = json.loads(run_cli(tmp_path, "targets", "--format", "json").stdout)
    assert [t["name"] for t in data["targets"]] == ["offline"]
    assert data["targets"][0]["provider"] == "rules"


# -- prompt diff -------------------------------------------------------------------------------


def test_prompt_diff(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "prompt", "diff", "toxicity/production", "prompts/toxicity/candidate.yaml")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("--- prompts/toxicity/production.yaml\n+++ prompts/toxicity/candidate.yaml\n")
    assert "+    - name: self_deprecation\n" in out
    assert "-description: Production prompt for the toxicity policy.\n" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    versions = [line.split()[-1] for line in result.stderr.splitlines() if " version " in line]
    assert len(versions) == 2 and versions[0] != versions[1]

    same = run_cli(workspace, "prompt", "diff", "toxicity/production", "toxicity/production")
    assert same.exit_code == 0 and same.stdout == "" and "(no differences)" in same.stderr

    coloured = run_cli(workspace, "prompt", "diff", "toxicity/production", "toxicity/candidate", "--color")
    assert "\x1b[32m+    - name: self_deprecation" in coloured.stdout


def test_prompt_diff_unknown_prompt(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "prompt", "diff", "toxicity/production", "toxicity/candidat")
    assert result.exit_code == 2
    assert "no prompt file 'toxicity/candidat'" in result.stderr
    assert "did you mean" in result.stderr


# -- validate ----------------------------------------------------------------------------------


def test_validate_ok_and_bad(workspace: Path, run_cli) -> None:
    ok = run_cli(workspace, "validate")
    assert ok.exit_code == 0, ok.stderr
    path = workspace / "incidents" / INCIDENT_ID / "items.jsonl"
    path.write_text(path.read_text() + "not json\n")
    bad = run_cli(workspace, "validate")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("incidents/INC-T1/items.jsonl:13:1: invalid JSON")


# -- choosing the workspace and the log --------------------------------------------------------


def test_workspace_from_env(workspace: Path, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    here = run_cli(None, "incident", "list", "--format", "json")
    assert json.loads(here.stdout) == {"incidents": []}
    monkeypatch.setenv("MODTUI_WORKSPACE", str(workspace))
    there = run_cli(None, "incident", "list", "--format", "json")
    assert [r["id"] for r in json.loads(there.stdout)["incidents"]] == [INCIDENT_ID]
    assert (workspace / ".modtui" / "modtui.db").is_file()
    # --workspace wins over the environment
    other = tmp_path / "other"
    other.mkdir()
    assert json.loads(run_cli(other, "incident", "list", "--format", "json").stdout) == {"incidents": []}


def test_missing_workspace_folder(tmp_path: Path, run_cli) -> None:
    result = run_cli(tmp_path / "nowhere", "incident", "list")
    assert result.exit_code == 2
    assert "workspace folder does not exist" in result.stderr


def test_db_option_and_env(bare_workspace: Path, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = bare_workspace / ".modtui" / "modtui.db"
    by_option = tmp_path / "logs" / "option.db"
    assert (
        run_cli(bare_workspace, "--db", str(by_option), "incident", "status", INCIDENT_ID, "investigating").exit_code
        == 0
    )
    assert by_option.is_file() and not default.exists()
    assert rows(by_option, "SELECT kind FROM event") == [("status",)]

    by_env = tmp_path / "env.db"
    monkeypatch.setenv("MODTUI_DB", str(by_env))
    assert run_cli(bare_workspace, "incident", "status", INCIDENT_ID, "mitigated").exit_code == 0
    assert by_env.is_file() and not default.exists()
    assert rows(by_env, "SELECT summary FROM event") == [("status investigating → mitigated",)]

    url = f"sqlite:///{tmp_path / 'url.db'}"
    assert run_cli(bare_workspace, "--db", url, "incident", "list").exit_code == 0  # option beats env, URLs work
    assert (tmp_path / "url.db").is_file()
    assert rows(by_env, "SELECT count(*) FROM event") == [(1,)]


def test_debug_shows_traceback_default_does_not(workspace: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = run_cli(workspace, "incident", "show", "INC-NOPE")
    assert plain.exit_code == 2
    assert "Traceback" not in plain.stderr
    debug = run_cli(workspace, "--debug", "incident", "show", "INC-NOPE")
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert "UsageError" in debug.stderr
    assert "no incident 'INC-NOPE'" in debug.stderr.splitlines()[-1]
    monkeypatch.setenv("MODTUI_DEBUG", "1")
    assert "Traceback" in run_cli(workspace, "incident", "show", "INC-NOPE").stderr


def test_data_on_stdout_messages_on_stderr(workspace: Path, run_cli, tmp_path: Path) -> None:
    export = tmp_path / "e.csv"
    export.write_text("text,gold\nhello,ok\n")
    result = run_cli(
        workspace,
        "incident",
        "import",
        str(export),
        "--id",
        "INC-I",
        "--policy",
        "toxicity",
        "--content-col",
        "text",
        "--expected-col",
        "gold",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "imported 1 items into incidents/INC-I/ (eval 1)" in result.stderr


def test_workspace_prompt_is_not_shadowed_by_the_current_directory(
    workspace: Path, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another workspace in the current directory (e.g. the repo's samples) must not shadow this one's files."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "prompts" / "toxicity").mkdir(parents=True)
    (elsewhere / "prompts" / "toxicity" / "production.yaml").write_text("name: decoy\n")
    monkeypatch.chdir(elsewhere)
    result = run_cli(workspace, "prompt", "diff", "prompts/toxicity/production.yaml", "toxicity/candidate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("--- prompts/toxicity/production.yaml\n")
    assert run_cli(workspace, "validate").exit_code == 0


def test_suggestions_ignore_case(workspace: Path, run_cli) -> None:
    result = run_cli(workspace, "incident", "show", "inc-t1")
    assert result.exit_code == 2
    assert "no incident 'inc-t1' (did you mean 'INC-T1'?)" in result.stderr


def test_error_messages_quote_file_values_inertly(workspace: Path, run_cli) -> None:
    """Labels and ids in error messages come from untrusted files: no terminal escapes, one line each."""
    path = workspace / "incidents" / INCIDENT_ID / "items.jsonl"
    bad = {"id": "x-y", "content": "c", "expected": "\u001b[2J\u001b[31mtoxic\nFAKE: all good"}
    path.write_text(path.read_text() + json.dumps(bad) + "\n")
    result = run_cli(workspace, "validate")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("incidents/INC-T1/items.jsonl:13: expected label '\\x1b[2J\\x1b[31mtoxic FAKE: all good'")


def test_incident_id_is_never_a_path(workspace: Path, run_cli) -> None:
    outside = workspace / "INC-X"
    outside.mkdir()
    src = workspace / "incidents" / INCIDENT_ID
    (outside / "incident.yaml").write_text((src / "incident.yaml").read_text().replace(INCIDENT_ID, "INC-X"))
    (outside / "items.jsonl").write_text((src / "items.jsonl").read_text())
    for args in (["incident", "show", "../INC-X"], ["incident", "status", "../INC-X", "resolved"]):
        result = run_cli(workspace, *args)
        assert result.exit_code == 2
        assert "no incident '../INC-X'" in result.stderr
    assert "status: open" in (outside / "incident.yaml").read_text()
