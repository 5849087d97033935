"""`replay --repeat N`: every item called N times, repeats 2..N past the cache, stability in replay and runs show."""

from __future__ import annotations

import json
import sqlite3
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from conftest import toxicity_model
from robustness_support import NoisyTarget

from modtui.analysis.stability import stability
from modtui.prompts.render import neutralise

INC, POSITIVE = "INC-T1", "toxic"


@pytest.fixture
def ws(served_workspace: Path) -> Path:
    return served_workspace


def items(ws: Path) -> list[dict[str, Any]]:
    lines = (ws / "incidents" / INC / "items.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def expected_figures(target: NoisyTarget, ws: Path, repeats: int) -> dict[str, Any]:
    """The figures computed by hand from the seeded target's answers (calls 1..N of each content)."""
    unanimous, pairs, differ, cells = 0, 0, 0, {"tp": 0, "fp": 0, "fn": 0}
    unstable = []
    for item in items(ws):
        content = neutralise(item["content"], ("content",))  # as the prompt carries it
        base = target.bases[content]
        labels = [target.answer(content, n, base) for n in range(1, repeats + 1)]
        unanimous += len(set(labels)) == 1
        if len(set(labels)) > 1:
            unstable.append(item["id"])
        for a, b in combinations(labels, 2):
            pairs += 1
            differ += a != b
        majority = max(set(labels), key=labels.count)
        if majority == POSITIVE:
            cells["tp" if item["expected"] == POSITIVE else "fp"] += 1
        elif item["expected"] == POSITIVE:
            cells["fn"] += 1
    precision = cells["tp"] / (cells["tp"] + cells["fp"])
    recall = cells["tp"] / (cells["tp"] + cells["fn"])
    n = len(items(ws))
    return {
        "repeats": repeats,
        "items": n,
        "unanimous": round(unanimous / n, 4),
        "flip_rate": round(differ / pairs, 4),
        "majority_f1": round(2 * precision * recall / (precision + recall), 4),
        "unstable": sorted(unstable),
    }


def db_cost(ws: Path, run_id: int) -> float:
    with sqlite3.connect(ws / ".modtui" / "modtui.db") as db:
        first = db.execute("SELECT SUM(cost_usd) FROM result WHERE run_id = ?", (run_id,)).fetchone()[0]
        rest = db.execute(
            "SELECT SUM(cost_usd), COUNT(*), COUNT(DISTINCT repeat) FROM result_repeat WHERE run_id = ?", (run_id,)
        ).fetchone()
    return first + rest[0], rest[1], rest[2]


def test_repeats_against_a_seeded_noisy_target_give_the_expected_figures(
    run_cli: Any, ws: Path, fake_server: Any
) -> None:
    target = NoisyTarget(toxicity_model, ("toxic", "ok"), p=0.3, seed=7)
    fake_server.responder = target
    n = len(items(ws))

    done = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "3", "--format", "json")
    assert done.exit_code == 0, done.output
    run = json.loads(done.stdout)["runs"][0]
    want = expected_figures(target, ws, 3)
    got = run["stability"]
    assert {k: got[k] for k in ("repeats", "items", "unanimous", "flip_rate", "majority_f1")} == {
        k: want[k] for k in ("repeats", "items", "unanimous", "flip_rate", "majority_f1")
    }
    assert sorted(u["item_id"] for u in got["unstable"]) == want["unstable"] and want["unstable"]
    assert 0 < want["unanimous"] < 1  # the seed makes some items wobble and not others
    assert fake_server.count() == 3 * n
    cost, repeat_rows, indexes = db_cost(ws, run["run_id"])
    assert repeat_rows == 2 * n and indexes == 2  # each repeat recorded with its index
    assert run["cost_usd"] == pytest.approx(cost) and cost > 0
    assert f"{3 * n}/{3 * n}" in done.stderr  # progress counts every call

    shown = run_cli(ws, "runs", "show", str(run["run_id"]), "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["stability"] == got
    table = run_cli(ws, "runs", "show", str(run["run_id"]))
    assert "stability" in table.stdout and f"unanimous {want['unanimous']}" in table.stdout
    assert all(item in table.stdout for item in want["unstable"])


def test_a_second_repeat_run_reads_repeat_one_from_the_cache_and_calls_the_rest(
    run_cli: Any, ws: Path, fake_server: Any
) -> None:
    n = len(items(ws))
    first = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2")
    assert first.exit_code == 0, first.output
    assert fake_server.count() == 2 * n
    again = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2", "--format", "json")
    assert again.exit_code == 0, again.output
    assert fake_server.count() == 3 * n  # repeat 1 cached, repeat 2 called again
    run = json.loads(again.stdout)["runs"][0]
    assert run["cached"] == n and run["stability"]["unanimous"] == 1.0 and run["stability"]["flip_rate"] == 0.0


def test_repeat_is_refused_with_batch(run_cli: Any, ws: Path) -> None:
    done = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2", "--batch")
    assert done.exit_code == 2 and "--repeat" in done.stderr


def test_stability_figures_by_hand() -> None:
    verdicts = {"a": ["x", "x", "x"], "b": ["x", "y", "x"], "c": ["y", "y", "no_verdict:error"], "d": ["x", "y"]}
    s = stability(verdicts, 3, {"a": "x", "b": "y", "c": "y", "d": "x"}, "x")
    assert s.items == 3 and s.unanimous == pytest.approx(1 / 3)
    assert s.flip_rate == pytest.approx((0 + 2 + 2) / 9)  # d (two repeats of three) is left out
    # majority: a→x (TP), b→x (FP), c→y (TN): precision 1/2, recall 1/1
    assert s.majority_f1 == pytest.approx(2 / 3)
    assert [u.item_id for u in s.unstable] == ["b", "c"]


def test_an_interrupted_repeat_run_resumes_only_what_each_repeat_lacks(
    run_cli: Any, ws: Path, fake_server: Any
) -> None:
    n = len(items(ws))
    first = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "3", "--format", "json")
    run_id = json.loads(first.stdout)["runs"][0]["run_id"]
    with sqlite3.connect(ws / ".modtui" / "modtui.db") as db:  # as a kill would leave it: repeat 3 half done
        db.execute("DELETE FROM result_repeat WHERE run_id = ? AND repeat = 3 AND item_id > 'i-06'", (run_id,))
        db.execute("UPDATE run SET status = 'interrupted' WHERE id = ?", (run_id,))
        missing = (
            n
            - db.execute("SELECT COUNT(*) FROM result_repeat WHERE run_id = ? AND repeat = 3", (run_id,)).fetchone()[0]
        )
    assert 0 < missing < n
    calls = fake_server.count()
    shown = json.loads(run_cli(ws, "runs", "show", str(run_id), "--format", "json").stdout)
    assert shown["stability"]["items"] == n - missing  # figures only over items with every repeat
    again = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "3", "--format", "json")
    assert again.exit_code == 0, again.output
    run = json.loads(again.stdout)["runs"][0]
    assert run["run_id"] == run_id and run["status"] == "completed" and run["stability"]["items"] == n
    assert fake_server.count() - calls == missing  # repeat 1 and 2 were complete: nothing called again


def test_repeats_probes_and_the_queue_on_each_database(
    run_cli: Any, served_workspace: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url:
        monkeypatch.setenv("MODTUI_DB", db_url)
    ws, n = served_workspace, len(items(served_workspace))
    done = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2", "--format", "json")
    assert done.exit_code == 0, done.output
    run = json.loads(done.stdout)["runs"][0]
    assert run["stability"]["items"] == n and run["stability"]["unanimous"] == 1.0
    shown = json.loads(run_cli(ws, "runs", "show", str(run["run_id"]), "--format", "json").stdout)
    assert shown["stability"] == run["stability"]
    probe = run_cli(ws, "probe", INC, "-m", "gpt-mini", "--mutations", "leet,homoglyph", "--format", "json")
    assert probe.exit_code == 0, probe.output
    assert all(m["flipped"] > 0 for m in json.loads(probe.stdout)["runs"][0]["mutations"])
    queue = run_cli(ws, "queue", INC, "--format", "json")
    assert queue.exit_code == 0 and any(
        r["reason"] == "probe_flip" for q in json.loads(queue.stdout)["queue"] for r in q["reasons"]
    )
