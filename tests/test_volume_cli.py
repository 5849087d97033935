"""`modtui select`, `cascade`, `estimate` and `sample plan` on recorded runs, checked against the log's own rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from modtui.analysis.stats import percentile

try:
    from fakeserver import Reply, verdict_text
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Reply, verdict_text

from conftest import toxicity_model

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"


def _confident(request: Any) -> Reply:
    """The fake model's label, with a confidence that depends on the content (so a threshold splits items)."""
    label = toxicity_model(request)
    content = request.user_text.split("<content>", 1)[-1]
    return Reply(text=verdict_text(label, confidence=0.6 if len(content) % 3 == 0 else 0.95))


@pytest.fixture
def runs(served_workspace: Path, fake_server: Any, run_cli: Any) -> tuple[Path, int, int]:
    """INC-T1 replayed offline (run 1, production's prompt) and on gpt-mini (runs 2 and 3, production's prompt
    and the candidate): the offline run and gpt-mini's candidate run."""
    fake_server.responder = _confident
    for args in (("-m", "offline"), ("-m", "gpt-mini", "-p", CANDIDATE)):
        result = run_cli(served_workspace, "replay", INC, "--items", "all", *args, "--format", "json")
        assert result.exit_code == 0, result.output
    return served_workspace, 1, 3


def _results(ws: Path, run_id: int) -> dict[str, tuple[str | None, float | None, int, int, float | None]]:
    with sqlite3.connect(ws / ".modtui" / "modtui.db") as db:
        rows = db.execute(
            "SELECT item_id, label, confidence, tokens_in, tokens_out, latency_ms FROM result WHERE run_id = ?",
            (run_id,),
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def _expected(ws: Path) -> dict[str, str]:
    lines = (ws / "incidents" / INC / "items.jsonl").read_text().splitlines()
    return {(d := json.loads(line))["id"]: d["expected"] for line in lines if line.strip()}


def test_select_costs_from_tokens_and_marks_the_frontier(runs: tuple[Path, int, int], run_cli: Any) -> None:
    ws, offline, mini = runs
    result = run_cli(ws, "select", INC, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_id = {r["run_id"]: r for r in data["runs"]}
    assert set(by_id) == {offline, 2, mini} and data["items"] == "all"
    assert set(by_id[mini]) >= {
        "run_id",
        "target",
        "prompt",
        "f1",
        "f1_ci",
        "precision",
        "recall",
        "cost_per_1k_usd",
        "batch_cost_per_1k_usd",
        "latency_ms",
        "pareto",
    }
    assert by_id[mini]["prompt"] == "toxicity/candidate" and by_id[offline]["cost_per_1k_usd"] == 0.0
    rows = _results(ws, mini)
    cost = sum(t_in * 0.15 + t_out * 0.60 for _, _, t_in, t_out, _ in rows.values()) / 1e6
    assert by_id[mini]["cost_per_1k_usd"] == pytest.approx(cost / len(rows) * 1000)
    assert by_id[mini]["batch_cost_per_1k_usd"] == pytest.approx(cost / len(rows) * 1000 * 0.5)
    # the free offline run is always on the frontier; a gpt-mini run only if its F1 is the best
    assert by_id[offline]["pareto"]
    best = max(r["f1"] or 0 for r in data["runs"])
    assert by_id[mini]["pareto"] == ((by_id[mini]["f1"] or 0) == best > (by_id[offline]["f1"] or 0))
    table = run_cli(ws, "select", INC)
    assert table.exit_code == 0 and "toxicity/candidate" in table.stdout and "Pareto" in table.stderr


def test_cascade_equals_a_hand_computation_from_the_log(runs: tuple[Path, int, int], run_cli: Any) -> None:
    ws, offline, mini = runs
    result = run_cli(
        ws, "cascade", INC, "--stage", f"{mini}@0.9", "--stage", str(offline), "--sweep", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    first, last, gold = _results(ws, mini), _results(ws, offline), _expected(ws)
    decided = {}
    for item_id in first:
        label, conf = first[item_id][:2]
        decided[item_id] = last[item_id][0] if label is None or (conf or 0) < 0.9 else label
    cells = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for item_id, label in decided.items():
        actual, predicted = gold[item_id] == "toxic", label == "toxic"
        cells[("t" if actual == predicted else "f") + ("p" if predicted else "n")] += 1
    c = data["cascade"]
    assert {k: c[k] for k in cells} == cells
    escalated = sum(1 for label, conf, *_ in first.values() if label is None or (conf or 0) < 0.9)
    assert 0 < escalated < len(first)  # the responder's confidences split the items
    assert c["stages"][0] | {"stage": None} == {
        "stage": None,
        "threshold": 0.9,
        "reached": len(first),
        "escalated": escalated,
        "escalation_rate": escalated / len(first),
    }
    assert c["stages"][1]["reached"] == escalated and c["stages"][1]["threshold"] is None
    cost = sum(first[i][2] * 0.15 + first[i][3] * 0.60 for i in first) / 1e6  # offline adds nothing
    assert c["cost_per_1k_usd"] == pytest.approx(cost / len(first) * 1000)
    assert [s["run_id"] for s in data["stages_alone"]] == [mini, offline]
    sweep = data["sweep"]
    assert sweep[0]["escalation_rate"] == 0.0 and sweep[-1]["escalation_rate"] == 1.0
    assert any(p["pareto"] for p in sweep)


def test_answers_the_cache_served_take_the_latency_of_the_calls_that_made_them(
    runs: tuple[Path, int, int], run_cli: Any
) -> None:
    """A re-run the response cache answers has no latency of its own: select and cascade time its answers by the
    calls that made them, as they cost them by those calls' tokens (an unknown latency is the worst on the
    frontier, and a cascade would have counted the stage as instant)."""
    ws, offline, mini = runs
    again = json.loads(run_cli(ws, "replay", INC, "-m", "gpt-mini", "-p", CANDIDATE, "--format", "json").stdout)
    cached = {r["prompt"]: r for r in again["runs"]}["toxicity/candidate"]
    assert cached["cached"] == cached["items"] and cached["latency_ms"]["p95"] is None  # the run's own: no call
    called = {i: row[4] for i, row in _results(ws, mini).items()}
    assert all(v is not None for v in called.values())

    chosen = {r["run_id"]: r for r in json.loads(run_cli(ws, "select", INC, "--format", "json").stdout)["runs"]}
    assert mini not in chosen and cached["run_id"] in chosen  # the newest run of each target × prompt
    ordered = sorted(called.values())
    assert chosen[cached["run_id"]]["latency_ms"]["p95"] == pytest.approx(percentile(ordered, 95))
    assert chosen[cached["run_id"]]["latency_ms"]["p50"] == pytest.approx(percentile(ordered, 50))

    data = json.loads(
        run_cli(
            ws, "cascade", INC, "--stage", f"{offline}@1", "--stage", str(cached["run_id"]), "--format", "json"
        ).stdout
    )
    offline_latency = {i: row[4] for i, row in _results(ws, offline).items()}
    both = sorted(offline_latency[i] + called[i] for i in called)  # threshold 1: every item escalates
    assert data["cascade"]["stages"][0]["escalation_rate"] == 1.0
    assert data["cascade"]["latency_ms"]["p95"] == pytest.approx(percentile(both, 95))


def test_an_offline_rerun_copied_from_the_log_takes_the_latency_of_the_decisions_it_copied(
    runs: tuple[Path, int, int], run_cli: Any
) -> None:
    ws, offline, _ = runs
    again = json.loads(run_cli(ws, "replay", INC, "-m", "offline", "--format", "json").stdout)["runs"][0]
    assert again["cached"] == again["items"] and again["latency_ms"]["p95"] is None  # copied: no decision of its own
    chosen = {r["run_id"]: r for r in json.loads(run_cli(ws, "select", INC, "--format", "json").stdout)["runs"]}
    decided = sorted(row[4] for row in _results(ws, offline).values())
    assert offline not in chosen
    assert chosen[again["run_id"]]["latency_ms"] == {
        "p50": pytest.approx(percentile(decided, 50)),
        "p95": pytest.approx(percentile(decided, 95)),
    }


@pytest.mark.parametrize(
    "stage, message", [("x@0.5", "not RUN or RUN@THRESHOLD"), ("1@2", "not within 0..1"), ("99", "no run 99")]
)
def test_cascade_bad_stages_exit_2(runs: tuple[Path, int, int], run_cli: Any, stage: str, message: str) -> None:
    ws, offline, _ = runs
    result = run_cli(ws, "cascade", INC, "--stage", stage, "--stage", str(offline))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_one_stage_is_not_a_cascade(runs: tuple[Path, int, int], run_cli: Any) -> None:
    ws, offline, _ = runs
    result = run_cli(ws, "cascade", INC, "--stage", str(offline))
    assert result.exit_code == 2 and "two stages" in result.stderr


def test_runs_of_two_incidents_are_refused_in_the_words_of_the_command(
    runs: tuple[Path, int, int], run_cli: Any
) -> None:
    ws, offline, _ = runs
    _sample_incident(ws)
    other = json.loads(run_cli(ws, "replay", "INC-S1", "-m", "offline", "--format", "json").stdout)["runs"][0]["run_id"]
    for args in (
        ("cascade", INC, "--stage", str(offline), "--stage", str(other)),
        ("select", INC, "--runs", f"{offline},{other}"),
        ("runs", "compare", str(offline), str(other)),
    ):
        result = run_cli(ws, *args)
        assert result.exit_code == 2, args
        assert f"run {offline} is on {INC} but run {other} is on INC-S1: give runs of one incident" in result.stderr
        assert "runs compare" not in result.stderr and "Traceback" not in result.output


def _sample_incident(ws: Path) -> None:
    """INC-T1 as a stratified sample: strata by locale with population sizes, a design weight on some items."""
    folder = ws / "incidents" / "INC-S1"
    folder.mkdir()
    head = (ws / "incidents" / INC / "incident.yaml").read_text().replace("id: INC-T1", "id: INC-S1")
    (folder / "incident.yaml").write_text(head + "kind: sample\npopulation: {en: 90000, es: 10000}\n")
    out = []
    for i, line in enumerate((ws / "incidents" / INC / "items.jsonl").read_text().splitlines()):
        d = json.loads(line)
        d.pop("kind", None)
        d |= {"stratum": "en" if i % 3 else "es", "weight": 2.0 if i % 4 == 0 else 1.0}
        out.append(json.dumps(d))
    (folder / "items.jsonl").write_text("\n".join(out) + "\n")


def test_estimate_projects_a_sample_run(served_workspace: Path, run_cli: Any) -> None:
    ws = served_workspace
    _sample_incident(ws)
    assert run_cli(ws, "replay", "INC-S1", "-m", "offline", "--items", "all").exit_code == 0
    result = run_cli(ws, "estimate", "INC-S1", "--run", "1", "--daily-volume", "1000000", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the prevalence by hand: per stratum the weighted share of toxic items, weighted by population
    items = [json.loads(x) for x in (ws / "incidents" / "INC-S1" / "items.jsonl").read_text().splitlines()]
    share = {}
    for h in ("en", "es"):
        members = [d for d in items if d["stratum"] == h]
        share[h] = sum(d["weight"] for d in members if d["expected"] == "toxic") / sum(d["weight"] for d in members)
    assert data["prevalence"]["value"] == pytest.approx(0.9 * share["en"] + 0.1 * share["es"])
    lo, hi = data["prevalence"]["ci"]
    assert 0 <= lo <= data["prevalence"]["value"] <= hi <= 1
    assert data["strata"] == {"en": {"population": 90000, "items": 8}, "es": {"population": 10000, "items": 4}}
    assert set(data["daily"]) == {"volume", "false_positives", "false_negatives"} and data["population"] == 100000
    for key in ("precision", "recall", "predicted_positive_rate"):
        assert set(data[key]) == {"value", "ci", "n"}
    table = run_cli(ws, "estimate", "INC-S1", "--run", "1", "--daily-volume", "1000000")
    assert table.exit_code == 0 and "prevalence" in table.stdout and "false positives a day" in table.stdout


def test_estimate_refuses_an_escalation_and_a_stratum_without_population(served_workspace: Path, run_cli: Any) -> None:
    ws = served_workspace
    assert run_cli(ws, "replay", INC, "-m", "offline").exit_code == 0
    result = run_cli(ws, "estimate", INC, "--run", "1")
    assert result.exit_code == 2 and "not a sample" in result.stderr
    _sample_incident(ws)
    head = ws / "incidents" / "INC-S1" / "incident.yaml"
    head.write_text(head.read_text().replace("es: 10000", "fr: 10000"))
    result = run_cli(ws, "validate")
    assert result.exit_code == 2 and "incidents/INC-S1/items.jsonl:1: stratum 'es' has no population" in result.stderr


def test_a_stratum_larger_than_its_population_is_refused_once_even_after_an_estimate(
    served_workspace: Path, run_cli: Any
) -> None:
    """A sample cannot hold more items than the population it was drawn from (its estimate would mean nothing):
    refused at the first item too many, also when the log had loaded the files before with a smaller figure."""
    ws = served_workspace
    _sample_incident(ws)
    run = json.loads(run_cli(ws, "replay", "INC-S1", "-m", "offline", "--format", "json").stdout)["runs"][0]["run_id"]
    assert run_cli(ws, "estimate", "INC-S1", "--run", str(run)).exit_code == 0
    items = (ws / "incidents" / "INC-S1" / "items.jsonl").read_text().splitlines()
    es = [n for n, line in enumerate(items, start=1) if json.loads(line)["stratum"] == "es"]
    head = ws / "incidents" / "INC-S1" / "incident.yaml"
    head.write_text(head.read_text().replace("es: 10000", "es: 2"))
    for args in (("estimate", "INC-S1", "--run", str(run)), ("validate",)):
        result = run_cli(ws, *args)
        assert result.exit_code == 2, args
        problems = [line for line in result.stderr.splitlines() if "holds more items" in line]
        assert problems == [
            f"incidents/INC-S1/items.jsonl:{es[2]}: stratum 'es' holds more items than its population in "
            "incident.yaml (2): a sample is drawn from its population, so it cannot be larger"
        ]
    head.write_text(head.read_text().replace("es: 2", f"es: {len(es)}"))  # a census of the stratum is fine
    assert run_cli(ws, "estimate", "INC-S1", "--run", str(run)).exit_code == 0


def test_sample_plan(run_cli: Any) -> None:
    result = run_cli(
        None,
        "sample",
        "plan",
        "--population",
        "1000000000",
        "--expected-prevalence",
        "0.5",
        "--target-halfwidth",
        "0.05",
        "--format",
        "json",
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["items_for_prevalence"] == 385
    bad = run_cli(
        None, "sample", "plan", "--population", "10", "--expected-prevalence", "1.5", "--target-halfwidth", "0.05"
    )
    assert bad.exit_code == 2


# ---------------------------------------------------------------- replay --dry-run and cost caps


def _runs_in_log(ws: Path) -> int:
    path = ws / ".modtui" / "modtui.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM run").fetchone()[0]


def test_dry_run_calls_nothing_and_forecasts_from_the_prompt_then_from_the_log(
    served_workspace: Path, fake_server: Any, run_cli: Any
) -> None:
    ws = served_workspace
    result = run_cli(ws, "replay", INC, "-m", "gpt-mini", "-p", CANDIDATE, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    assert fake_server.count() == 0 and _runs_in_log(ws) == 0
    data = json.loads(result.stdout)
    assert [r["prompt"] for r in data["runs"]] == ["toxicity/production", "toxicity/candidate"]
    first = data["runs"][0]
    assert first["calls"] == first["items"] == 12 and first["tokens_from"] == "estimate"
    assert first["tokens_out"] == 12 * 80  # the documented guess (the target's max_tokens is 200)
    assert first["cost_usd"] == pytest.approx((first["tokens_in"] * 0.15 + first["tokens_out"] * 0.60) / 1e6)
    assert first["batch_cost_usd"] == pytest.approx(first["cost_usd"] * 0.5)

    assert run_cli(ws, "replay", INC, "-m", "gpt-mini", "--format", "json").exit_code == 0
    calls = fake_server.count()
    again = json.loads(run_cli(ws, "replay", INC, "-m", "gpt-mini", "--dry-run", "--format", "json").stdout)["runs"][0]
    assert again["cached"] == 12 and again["calls"] == 0 and again["cost_usd"] == 0
    fresh = json.loads(
        run_cli(ws, "replay", INC, "-m", "gpt-mini", "--dry-run", "--no-cache", "--format", "json").stdout
    )["runs"][0]
    rows = _results(ws, 1)
    assert fresh["tokens_from"] == "log" and fresh["calls"] == 12
    assert fresh["tokens_in"] == round(sum(r[2] for r in rows.values()))
    assert fake_server.count() == calls and _runs_in_log(ws) == 1  # the dry runs called and recorded nothing


def test_dry_run_of_an_unchanged_offline_rerun_says_the_log_answers_it(workspace: Path, run_cli: Any) -> None:
    """The rules baseline's unchanged re-run is copied from the log, not decided again: the forecast says so, as
    the replay that follows does; asking for fresh verdicts (--no-cache) or a changed prompt forecasts decisions."""

    def forecast(*args: str) -> list[dict[str, Any]]:
        result = run_cli(workspace, "replay", INC, "-m", "offline", *args, "--dry-run", "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["runs"]

    before = forecast("-p", CANDIDATE)
    assert [(r["cached"], r["calls"]) for r in before] == [(0, r["items"]) for r in before]
    assert run_cli(workspace, "replay", INC, "-m", "offline", "-p", CANDIDATE, "--format", "json").exit_code == 0
    again = forecast("-p", CANDIDATE)
    assert [(r["cached"], r["calls"]) for r in again] == [(r["items"], 0) for r in again]
    replayed = json.loads(
        run_cli(workspace, "replay", INC, "-m", "offline", "-p", CANDIDATE, "--format", "json").stdout
    )["runs"]
    assert [r["cached"] for r in replayed] == [r["cached"] for r in again]  # the forecast was what happened
    assert [r["calls"] for r in forecast("-p", CANDIDATE, "--no-cache")] == [r["items"] for r in again]
    candidate = workspace / CANDIDATE
    candidate.write_text(candidate.read_text().replace("terms: [idiot, moron]", "terms: [idiot, moron, fool]"))
    changed = forecast("-p", CANDIDATE)
    assert changed[0]["calls"] == 0 and changed[1]["calls"] == changed[1]["items"]  # production's is unchanged


def _priced(ws: Path, per_run: float | None = None) -> None:
    """gpt-mini at $10/$40 per Mtok, two calls at a time (so 'in flight' is at most two calls)."""
    config = ws / "modtui.toml"
    text = (
        config.read_text()
        .replace("price_in_per_mtok = 0.15", "price_in_per_mtok = 10.0")
        .replace("price_out_per_mtok = 0.60", "price_out_per_mtok = 40.0")
        .replace("concurrency = 4", "concurrency = 2")
    )
    if per_run is not None:
        text = text.replace("[targets.gpt-mini.params]", f"max_cost_per_run = {per_run}\n\n[targets.gpt-mini.params]")
    config.write_text(text)


def test_max_cost_stops_within_the_calls_in_flight_and_the_run_resumes(
    served_workspace: Path, fake_server: Any, run_cli: Any
) -> None:
    ws = served_workspace
    _priced(ws)
    cap = 0.01
    result = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--no-cache", "--max-cost", str(cap), "--format", "json")
    assert result.exit_code == 1, result.output
    assert "cost cap" in result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["status"] == "stopped_budget" and 0 < run["items"] < 12
    rows = _results(ws, 1)
    costs = sorted((t_in * 10 + t_out * 40) / 1e6 for _, _, t_in, t_out, _ in rows.values())
    assert sum(costs) <= cap + 2 * costs[-1]  # within one round of in-flight calls of the cap
    assert fake_server.count() == len(rows)
    resumed = run_cli(ws, "replay", INC, "-m", "gpt-mini", "--no-cache", "--format", "json")
    assert resumed.exit_code == 0
    again = json.loads(resumed.stdout)["runs"][0]
    assert (again["run_id"], again["status"], again["items"]) == (1, "completed", 12)
    assert fake_server.count() == 12  # only what was missing was called


def test_a_targets_max_cost_per_run_caps_each_run(served_workspace: Path, fake_server: Any, run_cli: Any) -> None:
    ws = served_workspace
    _priced(ws, per_run=0.005)
    result = run_cli(ws, "replay", INC, "-m", "gpt-mini", "-p", CANDIDATE, "--no-cache", "--format", "json")
    assert result.exit_code == 1
    runs = json.loads(result.stdout)["runs"]
    assert [r["status"] for r in runs] == ["stopped_budget", "stopped_budget"]
    for run in runs:
        rows = _results(ws, run["run_id"])
        costs = sorted((t_in * 10 + t_out * 40) / 1e6 for _, _, t_in, t_out, _ in rows.values())
        assert 0 < len(rows) < 12 and sum(costs) <= 0.005 + 2 * costs[-1]


def test_import_a_stratified_sample(workspace: Path, run_cli: Any, tmp_path: Path) -> None:
    export = tmp_path / "sample.csv"
    export.write_text(
        "post_id,text,gold,locale,w\np1,have a nice day,ok,en,1\np2,you idiot,toxic,en,1\np3,hola amigos,ok,es,2.5\n",
        encoding="utf-8",
    )
    base = [
        "incident",
        "import",
        str(export),
        "--id",
        "INC-S2",
        "--policy",
        "toxicity",
        "--content-col",
        "text",
        "--expected-col",
        "gold",
        "--id-col",
        "post_id",
        "--stratum-col",
        "locale",
        "--weight-col",
        "w",
    ]
    result = run_cli(workspace, *base, "--population", "en=900", "--population", "es=100")
    assert result.exit_code == 0, result.output
    head = (workspace / "incidents" / "INC-S2" / "incident.yaml").read_text()
    assert "kind: sample" in head and "population: {en: 900, es: 100}" in head
    items = [json.loads(x) for x in (workspace / "incidents" / "INC-S2" / "items.jsonl").read_text().splitlines()]
    assert [(i["stratum"], i["weight"]) for i in items] == [("en", 1.0), ("en", 1.0), ("es", 2.5)]
    assert run_cli(workspace, "validate").exit_code == 0
    larger = run_cli(workspace, *base[:4], "INC-S3", *base[5:], "--population", "en=1", "--population", "es=100")
    assert larger.exit_code == 2 and not (workspace / "incidents" / "INC-S3").exists()
    assert f"{export}:3: stratum 'en' has more rows than its --population size (1)" in larger.stderr
    missing = run_cli(workspace, *base[:4], "INC-S3", *base[5:], "--population", "en=900")
    assert missing.exit_code == 2 and f"{export}:4: stratum 'es' has no --population size" in missing.stderr
    assert not (workspace / "incidents" / "INC-S3").exists()
    unsized = run_cli(workspace, *base[:4], "INC-S3", *base[5:])
    assert unsized.exit_code == 2 and "--population" in unsized.stderr
    export.write_text("post_id,text,gold,locale,w\np1,hi,ok,en,-1\n", encoding="utf-8")
    bad = run_cli(workspace, *base[:4], "INC-S3", *base[5:], "--population", "en=900")
    assert bad.exit_code == 2 and "sample.csv:2: weight in column 'w' is not a number above 0" in bad.stderr


# ---------------------------------------------------------------- what a cached re-run pays as a process


def test_a_replay_the_cache_answers_imports_no_sdk_and_no_ui(
    served_workspace: Path, fake_server: Any, run_cli: Any
) -> None:
    import os
    import subprocess
    import sys

    ws = served_workspace
    assert run_cli(ws, "replay", INC, "-m", "gpt-mini").exit_code == 0
    calls = fake_server.count()
    script = (
        "import sys\nfrom modtui.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('MODULES', code, *sorted(m for m in ('openai', 'anthropic', 'textual', 'httpx2') "
        "if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", script, "--workspace", str(ws), "replay", INC, "-m", "gpt-mini", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    line = [x for x in out.stdout.splitlines() if x.startswith("MODULES")][-1]
    assert line == "MODULES 0", out.stdout[-2000:] + out.stderr[-2000:]
    assert fake_server.count() == calls  # every reply came from the cache
