"""An unchanged offline re-run (same prompt version, same items, same classifier) is served from the log: a new
run whose results are the last completed run's, copied inside the log; anything changed is classified again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reliability_support import db_path, query


def replay(run_cli: Any, ws: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(ws, "replay", "INC-T1", "-m", "offline", "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["runs"][0]


def results(db: Path, run_id: int) -> dict[str, tuple[Any, ...]]:
    rows = query(
        db,
        "SELECT item_id, outcome, label, confidence, rationale, rules_json, cached FROM result WHERE run_id = ?",
        run_id,
    )
    return {r[0]: r[1:] for r in rows}


def test_an_unchanged_rerun_is_served_from_the_log(workspace: Path, run_cli: Any) -> None:
    db = db_path(workspace)
    first = replay(run_cli, workspace)
    again = replay(run_cli, workspace)
    assert again["run_id"] != first["run_id"] and again["status"] == "completed"
    a, b = results(db, first["run_id"]), results(db, again["run_id"])
    assert {k: v[:-1] for k, v in a.items()} == {k: v[:-1] for k, v in b.items()}  # the same verdicts, cited rules
    assert {v[-1] for v in a.values()} == {0} and {v[-1] for v in b.values()} == {1}  # the second: from the log
    assert {k: first[k] for k in ("tp", "fp", "fn", "tn")} == {k: again[k] for k in ("tp", "fp", "fn", "tn")}


def test_no_cache_a_changed_item_or_prompt_classifies_again(workspace: Path, run_cli: Any) -> None:
    db = db_path(workspace)
    replay(run_cli, workspace)
    fresh = replay(run_cli, workspace, "--no-cache")
    assert {v[-1] for v in results(db, fresh["run_id"]).values()} == {0}

    items = workspace / "incidents/INC-T1/items.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["content"] = "you absolute moron"  # an edited export: its verdict may differ
    items.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")
    edited = replay(run_cli, workspace)
    rows = results(db, edited["run_id"])
    assert {v[-1] for v in rows.values()} == {0} and rows[first["id"]][1] == "toxic"

    prompt = workspace / "prompts/toxicity/production.yaml"
    prompt.write_text(
        prompt.read_text(encoding="utf-8").replace("terms: [idiot, moron]", "terms: [idiot]"), encoding="utf-8"
    )
    changed = replay(run_cli, workspace)
    assert {v[-1] for v in results(db, changed["run_id"]).values()} == {0}
    assert results(db, changed["run_id"])[first["id"]][1] == "ok"  # the edited policy decided, not the log


def test_another_classifier_version_classifies_again(workspace: Path, run_cli: Any, monkeypatch: Any) -> None:
    from modtui.providers.rules import RulesProvider

    db = db_path(workspace)
    replay(run_cli, workspace)
    monkeypatch.setattr(RulesProvider, "deterministic_version", "next")
    after = replay(run_cli, workspace)
    assert {v[-1] for v in results(db, after["run_id"]).values()} == {0}
