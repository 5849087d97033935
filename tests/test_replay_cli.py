"""`modtui replay` and `modtui runs` through click's CliRunner (stdout and stderr checked separately)."""

from __future__ import annotations

import csv
import re
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from oracles import binomtest

from modtui.policy.classify import classify
from modtui.policy.model import Policy

try:
    from fakeserver import Fault
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Fault

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"
POSITIVE = "toxic"
CONTRACT_RUN_KEYS = {
    "run_id",
    "target",
    "prompt",
    "prompt_version",
    "baseline_run_id",
    "items",
    "tp",
    "fp",
    "fn",
    "tn",
    "no_verdict",
    "no_verdict_by_type",
    "precision",
    "recall",
    "f1",
    "flips",
    "mcnemar_p",
    "cost_usd",
    "latency_ms",
}
# docs/metrics.md § `--format json`: the documented document, key for key
README_TOP_KEYS = {"incident", "positive_label", "interrupted", "runs"}
README_RUN_KEYS = CONTRACT_RUN_KEYS | {
    "status",
    "accuracy",
    "coverage",
    "tokens_in",
    "tokens_out",
    "cached",
    "best_threshold",
    "error",
    "precision_ci",
    "recall_ci",
    "f1_ci",
    "f1_bootstrap",
    "positives",
}
JSONL_KEYS = [
    "run_id",
    "item_id",
    "target",
    "prompt_version",
    "expected",
    "verdict",
    "label",
    "confidence",
    "error_type",
    "cached",
]


@pytest.fixture
def ws(served_workspace: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The served workspace, its log on SQLite (the workspace's file) or on a fresh PostgreSQL database
    (via MODTUI_DB)."""
    if db_url:
        monkeypatch.setenv("MODTUI_DB", db_url)
    return served_workspace


def replay(run_cli: Any, ws: Path, *args: str) -> Any:
    return run_cli(ws, "replay", INC, *args)


# ------------------------------------------------------------------ an independent computation
def gold(ws: Path) -> list[dict[str, Any]]:
    lines = (ws / "incidents" / INC / "items.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def classifier_labels(ws: Path, prompt: str) -> dict[str, str]:
    """What the offline target must answer: the classifier applied to the prompt file's policy."""
    doc = yaml.safe_load((ws / prompt).read_text())
    policy = Policy.model_validate(doc["policy"])
    return {i["id"]: classify(i["content"], policy, doc["labels"], positive_label=POSITIVE).label for i in gold(ws)}


def confusion(items: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    count = lambda want_pos, got_pos: sum(  # noqa: E731
        1 for i in items if (i["expected"] == POSITIVE) == want_pos and (labels[i["id"]] == POSITIVE) == got_pos
    )
    tp, fp, fn, tn = count(True, True), count(False, True), count(True, False), count(False, False)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {
        "items": len(items),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "no_verdict": 0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def flips(
    items: list[dict[str, Any]], base: dict[str, str], cand: dict[str, str]
) -> tuple[list[str], list[str], float]:
    right = lambda labels, i: labels[i["id"]] == i["expected"]  # noqa: E731
    fixed = sorted(i["id"] for i in items if not right(base, i) and right(cand, i))
    regressed = sorted(i["id"] for i in items if right(base, i) and not right(cand, i))
    n = len(fixed) + len(regressed)
    return fixed, regressed, binomtest(len(fixed), n, 0.5).pvalue if n else 1.0


# ------------------------------------------------------------------ table, json, jsonl, csv
def test_offline_table_shows_metrics_and_flips(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-p", CANDIDATE)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    header = out.splitlines()[0].split()
    assert header[:4] == ["RUN_ID", "TARGET", "PROMPT", "PROMPT_VERSION"] and {
        "PRECISION",
        "RECALL",
        "F1",
        "FIXED",
        "REGRESSED",
        "MCNEMAR_P",
    } <= set(header)
    # a rate's cell holds its 95% interval too: "0.571 [0.25–0.84]", one cell
    rows = {line.split()[2]: dict(zip(header, re.split(r"\s{2,}", line))) for line in out.splitlines()[1:3]}
    assert (
        rows["toxicity/production"]["PRECISION"] == "0.571 [0.25–0.84]" and rows["toxicity/production"]["FIXED"] == "-"
    )
    assert rows["toxicity/candidate"]["F1"] == "1.000" and rows["toxicity/candidate"]["FIXED"] == "3"
    assert "run 2 (offline × toxicity/candidate) vs run 1: 3 fixed, 0 regressed, McNemar p=0.25" in out
    assert "fixed     i-01" in out and "I am an idiot, forgot my keys again" in out
    assert "run 1 offline × toxicity/production" in result.stderr and "12/12" in result.stderr  # progress: stderr
    assert re.search(r"12/12 errors 0 [0-9.]+/s", result.stderr)  # results made here: their rate
    assert "12/12" not in out and "[####" not in out


def test_json_contract_and_numbers(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-p", CANDIDATE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # stdout is the one JSON document, nothing else
    assert set(doc) == README_TOP_KEYS and doc["incident"] == INC and doc["positive_label"] == POSITIVE
    assert len(doc["runs"]) == 2
    for run in doc["runs"]:
        assert set(run) == README_RUN_KEYS and CONTRACT_RUN_KEYS <= set(run)
        assert {"fixed", "regressed"} <= set(run["flips"]) and set(run["latency_ms"]) == {"p50", "p95"}
    prod, cand = doc["runs"]
    assert (prod["prompt"], cand["prompt"]) == ("toxicity/production", "toxicity/candidate")
    items = gold(ws)
    base_labels = classifier_labels(ws, "prompts/toxicity/production.yaml")
    cand_labels = classifier_labels(ws, CANDIDATE)
    for run, labels in ((prod, base_labels), (cand, cand_labels)):
        expected = confusion(items, labels)
        for key, value in expected.items():
            assert run[key] == pytest.approx(value), key
        assert run["no_verdict_by_type"] == {} and run["cost_usd"] == 0.0 and run["target"] == "offline"
        assert run["latency_ms"]["p50"] <= run["latency_ms"]["p95"]
    fixed, regressed, p = flips(items, base_labels, cand_labels)
    assert cand["baseline_run_id"] == prod["run_id"] and prod["baseline_run_id"] is None
    assert (cand["flips"]["fixed"], cand["flips"]["regressed"]) == (fixed, regressed) == (["i-01", "i-02", "i-03"], [])
    assert cand["mcnemar_p"] == pytest.approx(p)
    assert prod["flips"] == {"fixed": [], "regressed": []} and prod["mcnemar_p"] is None
    assert len(prod["prompt_version"]) >= 8 and prod["prompt_version"] != cand["prompt_version"]


def test_json_numbers_on_an_http_target(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-m", "gpt-mini", "-p", CANDIDATE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    prod, cand = json.loads(result.stdout)["runs"]
    assert [prod[k] for k in ("tp", "fp", "fn", "tn")] == [4, 4, 0, 4]  # conftest.toxicity_model, by hand
    assert [cand[k] for k in ("tp", "fp", "fn", "tn")] == [3, 1, 1, 7]
    assert (cand["precision"], cand["recall"], cand["f1"]) == (0.75, 0.75, 0.75)
    assert cand["flips"]["fixed"] == ["i-01", "i-02", "i-03"] and cand["flips"]["regressed"] == ["i-11"]
    assert cand["mcnemar_p"] == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    assert cand["cost_usd"] > 0 and cand["latency_ms"]["p50"] is not None


def test_jsonl_one_line_per_item_result(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-p", CANDIDATE, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 24 and all(list(line) == JSONL_KEYS for line in lines)
    expected = {i["id"]: i["expected"] for i in gold(ws)}
    labels = {
        "toxicity/production": classifier_labels(ws, "prompts/toxicity/production.yaml"),
        "toxicity/candidate": classifier_labels(ws, CANDIDATE),
    }
    versions = {}
    for line in lines:
        versions.setdefault(line["run_id"], line["prompt_version"])
        assert line["target"] == "offline" and line["cached"] is False and line["error_type"] is None
        assert line["expected"] == expected[line["item_id"]] and line["verdict"] == line["label"]
        assert 0 <= line["confidence"] <= 1
    assert len(versions) == 2
    first_run = min(versions)
    for line in lines:
        prompt = "toxicity/production" if line["run_id"] == first_run else "toxicity/candidate"
        assert line["label"] == labels[prompt][line["item_id"]]


def test_jsonl_non_verdicts(run_cli: Any, ws: Path, fake_server: Any) -> None:
    fake_server.add_rule("nice day", Fault("bad_request"))  # a 4xx is not retried
    fake_server.add_rule("lovely", "spam")  # not a label
    result = replay(run_cli, ws, "-m", "gpt-mini", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = {line["item_id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert (lines["i-07"]["verdict"], lines["i-07"]["label"], lines["i-07"]["error_type"]) == (
        "error",
        None,
        "bad_request",
    )
    assert (lines["i-12"]["verdict"], lines["i-12"]["label"]) == ("parse_error", None)
    assert lines["i-06"]["verdict"] == "toxic"


def test_csv_summary(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-p", CANDIDATE, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 and list(rows[0])[:3] == ["run_id", "target", "prompt"]
    assert {"precision", "recall", "f1", "fixed", "regressed", "mcnemar_p", "p50_ms", "p95_ms"} <= set(rows[0])
    assert {"precision_ci_low", "precision_ci_high", "recall_ci_low", "recall_ci_high", "f1_ci_low"} <= set(rows[0])
    assert float(rows[0]["precision_ci_low"]) <= float(rows[0]["precision"]) <= float(rows[0]["precision_ci_high"])
    assert (rows[1]["prompt"], rows[1]["fixed"], rows[1]["regressed"], rows[1]["f1"]) == (
        "toxicity/candidate",
        "3",
        "0",
        "1.000",
    )


# ------------------------------------------------------------------ gates
def test_gate_value_out_of_range_is_usage_error(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "--min-recall", "1.01")
    assert result.exit_code == 2 and "--min-recall" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "gate, code",
    [
        (["--min-recall", "0.99"], 1),
        (["--min-recall", "0.7"], 0),
        (["--min-precision", "0.8"], 1),
        (["--min-precision", "0.75"], 0),
        (["--fail-on-regression"], 1),
    ],
)
def test_gates_on_a_candidate(run_cli: Any, ws: Path, gate: list[str], code: int) -> None:
    result = replay(run_cli, ws, "-m", "gpt-mini", "-p", CANDIDATE, *gate)  # candidate: P 0.75 R 0.75, regresses i-11
    assert result.exit_code == code, result.stderr
    assert "toxicity/candidate" in result.stdout  # results are printed before the gate decides
    assert ("gate failed" in result.stderr) == (code == 1)
    if "--fail-on-regression" in gate:
        assert "i-11" in result.stderr


def test_no_regression_passes_the_gate(run_cli: Any, ws: Path) -> None:
    result = replay(run_cli, ws, "-p", CANDIDATE, "--fail-on-regression", "--min-recall", "1.0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["runs"][1]["flips"]["regressed"] == []


def test_gates_apply_to_the_only_run_without_candidate(run_cli: Any, ws: Path) -> None:
    assert replay(run_cli, ws, "--min-precision", "0.6").exit_code == 1  # production alone: precision 4/7
    assert replay(run_cli, ws, "--min-precision", "0.5").exit_code == 0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "args, message",
    [
        (["replay", "INC-T2"], "no incident 'INC-T2'"),
        (["replay", INC, "-m", "gpt-mni"], "did you mean 'gpt-mini'"),
        (["replay", INC, "-p", "prompts/toxicity/candidat.yaml"], "candidat"),
        (["replay", INC, "-j", "0"], "-j"),
        (["replay", INC, "-j", "-1"], "-j"),
        (["replay", INC, "--format", "xml"], "--format"),
        (["replay", INC, "--baseline", "nonsense"], "--baseline"),
        (["replay", INC, "--baseline", "42"], "no run 42"),
        (["replay", INC, "--items", "some"], "--items"),
        (["runs", "show", "99"], "no run 99"),
        (["runs", "compare", "1", "99"], "no run"),
    ],
)
def test_bad_input_exit_2(run_cli: Any, ws: Path, args: list[str], message: str) -> None:
    result = run_cli(ws, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr and result.stdout == ""
    listed = run_cli(ws, "runs", "list", "--format", "json")
    assert json.loads(listed.stdout) == {"runs": []}  # nothing was started


def test_rejected_key_stops_the_target_with_one_message(run_cli: Any, ws: Path, fake_server: Any) -> None:
    fake_server.responder = lambda request: Fault("auth")
    result = replay(run_cli, ws, "-m", "gpt-mini", "-p", CANDIDATE, "--format", "json")
    assert result.exit_code == 2
    assert result.stderr.count("MODTUI_TEST_OPENAI_KEY") == 1 and "sk-test-openai" not in result.stderr
    runs = json.loads(result.stdout)["runs"]  # the partial results are still printed
    assert {r["status"] for r in runs} == {"failed"} and fake_server.count() < 24


# ------------------------------------------------------------------ runs list / show / compare
def test_runs_list_show_compare(run_cli: Any, ws: Path) -> None:
    assert replay(run_cli, ws, "-p", CANDIDATE).exit_code == 0
    table = run_cli(ws, "runs", "list")
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split()[:3] == ["RUN_ID", "INCIDENT", "TARGET"]
    assert len(table.stdout.splitlines()) == 3
    listed = json.loads(run_cli(ws, "runs", "list", INC, "--format", "json").stdout)["runs"]
    assert [r["run_id"] for r in listed] == [2, 1]  # newest first
    assert listed[0]["fixed"] == 3 and listed[0]["regressed"] == 0 and listed[0]["status"] == "completed"
    assert listed[1]["precision"] == pytest.approx(4 / 7)

    shown = run_cli(ws, "runs", "show", "2")
    assert shown.exit_code == 0 and "status         completed" in shown.stdout
    header, values = [line.split() for line in shown.stdout.split("\n\n")[1].splitlines()[:2]]
    assert dict(zip(header, values))["FP"] == "0" and {"P50_MS", "P95_MS"} <= set(header)
    assert "\nf1             1.000" in shown.stdout
    doc = json.loads(run_cli(ws, "runs", "show", "1", "--format", "json").stdout)
    assert doc["run_id"] == 1 and doc["metrics"]["fp"] == 3 and doc["incident"] == INC

    compared = run_cli(ws, "runs", "compare", "1", "2")
    assert compared.exit_code == 0
    assert "3 fixed, 0 regressed, McNemar p=0.25" in compared.stdout and "fixed: i-01, i-02, i-03" in compared.stdout
    data = json.loads(run_cli(ws, "runs", "compare", "2", "1", "--format", "json").stdout)
    assert data["flips"]["regressed"] == ["i-01", "i-02", "i-03"] and data["flips"]["fixed"] == []
    assert data["baseline"]["run_id"] == 2 and data["candidate"]["run_id"] == 1


def test_runs_list_unknown_incident(run_cli: Any, ws: Path) -> None:
    result = run_cli(ws, "runs", "list", "INC-NOPE")
    assert result.exit_code == 2 and "INC-NOPE" in result.stderr


def test_second_replay_is_served_from_cache(run_cli: Any, ws: Path, fake_server: Any) -> None:
    assert replay(run_cli, ws, "-m", "gpt-mini").exit_code == 0
    result = replay(run_cli, ws, "-m", "gpt-mini", "--format", "jsonl")
    assert fake_server.count() == 12 and all(json.loads(line)["cached"] for line in result.stdout.splitlines())
    assert "cached 12" in result.stderr and "/s" not in result.stderr  # no call made: no calls-per-second rate
    replay(run_cli, ws, "-m", "gpt-mini", "--no-cache")
    assert fake_server.count() == 24
