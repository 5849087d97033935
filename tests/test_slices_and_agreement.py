"""`runs show --by`, `runs compare --by`, `runs show`'s calibration and κ, `agreement`, annotations in items and
imports: the JSON shapes on the samples and on an imported CSV, every figure recomputed from the per-item
verdicts (`replay --format jsonl`) with sklearn / statsmodels."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from oracles import cohen_kappa_score, f1_score, precision_score, proportion_confint, recall_score

from tests.conftest import copy_samples, run_cli

ROOT = Path(__file__).resolve().parents[1]
POS = "violating"
SLICE_KEYS = {
    "key",
    "items",
    "tp",
    "fp",
    "fn",
    "tn",
    "no_verdict",
    "precision",
    "recall",
    "f1",
    "precision_ci",
    "recall_ci",
    "small",
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, migrated_log: Path) -> dict[str, Any]:
    """The sample workspace with INC-0042 replayed offline: production (run 1) and the candidate (run 2)."""
    ws = copy_samples(tmp_path_factory.mktemp("samples"), migrated_log)
    result = run_cli(ws, "replay", "INC-0042", "-p", "hate_speech/candidate", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    verdicts: dict[int, dict[str, dict[str, Any]]] = {}
    for line in result.stdout.splitlines():
        row = json.loads(line)
        verdicts.setdefault(row["run_id"], {})[row["item_id"]] = row
    items = [json.loads(line) for line in (ws / "incidents/INC-0042/items.jsonl").read_text().splitlines() if line]
    return {"ws": ws, "verdicts": verdicts, "items": {i["id"]: i for i in items}}


def cli_json(ws: Path, *args: str) -> Any:
    result = run_cli(ws, *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def expected_slice(members: list[str], verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    y_true = [verdicts[i]["expected"] == POS for i in members]
    y_pred = [verdicts[i]["label"] == POS for i in members]
    tp = sum(a and b for a, b in zip(y_true, y_pred))
    return {
        "items": len(members),
        "tp": tp,
        "fp": sum(b and not a for a, b in zip(y_true, y_pred)),
        "precision": precision_score(y_true, y_pred, zero_division=0) if any(y_pred) else None,
        "recall": recall_score(y_true, y_pred) if any(y_true) else None,
        "precision_ci": list(proportion_confint(tp, sum(y_pred), method="wilson")) if any(y_pred) else None,
        "recall_ci": list(proportion_confint(tp, sum(y_true), method="wilson")) if any(y_true) else None,
    }


@pytest.mark.parametrize("by, field", [("meta.locale", "locale"), ("meta.surface", "surface"), ("kind", None)])
def test_runs_show_by_on_the_samples(samples: dict[str, Any], by: str, field: str | None) -> None:
    doc = cli_json(samples["ws"], "runs", "show", "2", "--by", by, "--min-n", "20")
    assert doc["run_id"] == 2 and doc["by"] == by and doc["min_n"] == 20
    verdicts, items = samples["verdicts"][2], samples["items"]
    assert sum(s["items"] for s in doc["slices"]) == len(items)
    errors = [s["fp"] + s["fn"] for s in doc["slices"]]
    assert errors == sorted(errors, reverse=True)
    for s in doc["slices"]:
        assert set(s) == SLICE_KEYS
        value = (lambda i: items[i]["meta"].get(field)) if field else (lambda i: items[i]["kind"])
        members = [i for i in items if value(i) == s["key"]]
        want = expected_slice(members, verdicts)
        assert s["small"] == (len(members) < 20)
        for key, expected in want.items():
            assert s[key] == pytest.approx(expected), (s["key"], key)


def test_runs_show_by_numeric_meta_is_binned(samples: dict[str, Any]) -> None:
    doc = cli_json(samples["ws"], "runs", "show", "2", "--by", "meta.account_age_days", "--bins", "3")
    ages = [i["meta"]["account_age_days"] for i in samples["items"].values()]
    lo, hi = min(ages), max(ages)
    assert len(doc["slices"]) <= 3 and sum(s["items"] for s in doc["slices"]) == len(ages)
    width = (hi - lo) / 3
    for s in doc["slices"]:
        start = float(s["key"][1:].split(",")[0])
        last = s["key"].endswith("]")
        inside = [a for a in ages if start <= a < start + width or (last and a == hi)]
        assert s["items"] == len(inside)


def test_runs_compare_by_splits_the_flips(samples: dict[str, Any]) -> None:
    ws = samples["ws"]
    whole = cli_json(ws, "runs", "compare", "1", "2")["flips"]
    doc = cli_json(ws, "runs", "compare", "1", "2", "--by", "meta.locale")
    assert (doc["baseline_run_id"], doc["candidate_run_id"], doc["by"]) == (1, 2, "meta.locale")
    assert sorted(i for s in doc["slices"] for i in s["fixed_items"]) == sorted(whole["fixed"])
    assert sorted(i for s in doc["slices"] for i in s["regressed_items"]) == sorted(whole["regressed"])
    for s in doc["slices"]:
        assert s["fixed"] == len(s["fixed_items"]) and s["regressed"] == len(s["regressed_items"])
        assert all(samples["items"][i]["meta"]["locale"] == s["key"] for i in s["fixed_items"] + s["regressed_items"])
        assert {"precision", "recall", "precision_ci"} <= set(s["baseline"]) <= set(s["candidate"])
    table = run_cli(ws, "runs", "compare", "1", "2", "--by", "kind")
    assert table.exit_code == 0 and "FIXED" in table.stdout and "REGRESSED" in table.stdout


def test_runs_show_json_has_intervals_calibration_and_kappa(samples: dict[str, Any]) -> None:
    doc = cli_json(samples["ws"], "runs", "show", "2", "--fp-cost", "1", "--fn-cost", "5")
    m, verdicts = doc["metrics"], samples["verdicts"][2]
    y_true = [v["expected"] == POS for v in verdicts.values()]
    y_pred = [v["label"] == POS for v in verdicts.values()]
    assert m["precision"] == pytest.approx(precision_score(y_true, y_pred))
    assert m["f1"] == pytest.approx(f1_score(y_true, y_pred))
    assert m["precision_ci"] == pytest.approx(list(proportion_confint(m["tp"], m["tp"] + m["fp"], method="wilson")))
    assert m["recall_ci"] == pytest.approx(list(proportion_confint(m["tp"], sum(y_true), method="wilson")))
    assert m["f1_ci"][0] <= m["f1"] <= m["f1_ci"][1] and m["f1_bootstrap"]["resamples"] == 1000
    judged = [v for v in verdicts.values() if v["label"] is not None]
    assert doc["kappa_vs_gold"] == pytest.approx(
        cohen_kappa_score([v["label"] for v in judged], [v["expected"] for v in judged])
    )
    cal = doc["calibration"]
    assert len(cal["bins"]) == 10 and [(b["lo"], b["hi"]) for b in cal["bins"]][0] == (0.0, 0.1)
    assert sum(b["count"] for b in cal["bins"]) == cal["scored"] == len(judged)
    scores = [(v["confidence"] if v["label"] == POS else 1 - v["confidence"], v["expected"] == POS) for v in judged]
    ece = 0.0
    for b in cal["bins"]:
        inside = [(s, p) for s, p in scores if b["lo"] <= s < b["hi"] or (b["hi"] == 1.0 and s == 1.0)]
        assert b["count"] == len(inside)
        if inside:
            mean, rate = sum(s for s, _ in inside) / len(inside), sum(p for _, p in inside) / len(inside)
            assert (b["mean_score"], b["positive_rate"]) == pytest.approx((mean, rate))
            ece += len(inside) / len(scores) * abs(mean - rate)
    assert cal["ece"] == pytest.approx(ece)
    cheap = doc["cheapest_threshold"]
    assert (cheap["fp_cost"], cheap["fn_cost"]) == (1, 5) and cheap["cost"] == cheap["fp"] + 5 * cheap["fn"]
    table = run_cli(samples["ws"], "runs", "show", "2")
    assert table.exit_code == 0 and f"precision      {m['precision']:.3f} [" in table.stdout
    assert "ece" in table.stdout and "least cost" in table.stdout


def test_bad_slice_options_exit_2(samples: dict[str, Any]) -> None:
    for args, word in (
        (("--by", "locale"), "meta.FIELD"),
        (("--by", "kind", "--bins", "0"), "--bins"),
        (("--by", "kind", "--min-n", "-1"), "--min-n"),
    ):
        result = run_cli(samples["ws"], "runs", "show", "2", *args)
        assert result.exit_code == 2 and word in result.stderr, result.stderr
    result = run_cli(samples["ws"], "runs", "show", "2", "--fp-cost", "-1")
    assert result.exit_code == 2 and "--fp-cost" in result.stderr


def write_export(path: Path, n: int = 60) -> list[dict[str, str]]:
    import random

    rng = random.Random(1)
    words = ["you are vermin", "lovely day", "parasites, all of them", "great match", "they are rats", "hello"]
    rows = []
    for i in range(n):
        gold = rng.choice(["violating", "non_violating"])
        marks = [gold if rng.random() < 0.8 else rng.choice(["violating", "non_violating"]) for _ in range(3)]
        if i % 7 == 0:
            marks[1] = ""  # r2 skipped this one
        rows.append(
            {
                "post_id": f"p{i:03d}",
                "text": f"{rng.choice(words)} #{i}",
                "gold": gold,
                "prod": rng.choice(["violating", "non_violating"]),
                "Locale": rng.choice(["en-US", "pt-BR"]),
                "surface": rng.choice(["comment", "post", "dm"]),
                "r1": marks[0],
                "r2": marks[1],
                "r3": marks[2],
            }
        )
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_imported_csv_with_locale_surface_and_annotations(samples: dict[str, Any], tmp_path: Path) -> None:
    ws = samples["ws"]
    rows = write_export(tmp_path / "export.csv")
    result = run_cli(
        ws,
        "incident",
        "import",
        str(tmp_path / "export.csv"),
        "--id",
        "INC-CSV",
        "--policy",
        "hate_speech",
        "--content-col",
        "text",
        "--expected-col",
        "gold",
        "--observed-col",
        "prod",
        "--id-col",
        "post_id",
        "--meta-col",
        "locale",
        "--meta-col",
        "surface",
        "--annotation-cols",
        "r1,r2,r3",
    )
    assert result.exit_code == 0, result.stderr
    first = json.loads((ws / "incidents/INC-CSV/items.jsonl").read_text().splitlines()[0])
    assert first["annotations"] == [{"annotator": c, "label": rows[0][c]} for c in ("r1", "r3")]  # r2: empty cell
    replayed = run_cli(ws, "replay", "INC-CSV", "--format", "json")
    assert replayed.exit_code == 0, replayed.stderr
    run_id = json.loads(replayed.stdout)["runs"][0]["run_id"]
    for by in ("meta.locale", "meta.surface"):
        doc = cli_json(ws, "runs", "show", str(run_id), "--by", by)
        assert {s["key"] for s in doc["slices"]} <= {"en-US", "pt-BR", "comment", "post", "dm"}
        assert all(set(s) == SLICE_KEYS for s in doc["slices"]) and sum(s["items"] for s in doc["slices"]) == 60
        assert all(s["small"] == (s["items"] < 30) for s in doc["slices"])
        field = by.removeprefix("meta.")
        column = "Locale" if field == "locale" else field  # the export's header; --meta-col matched it
        assert sorted((s["key"], s["items"]) for s in doc["slices"]) == sorted(
            (k, sum(r[column] == k for r in rows)) for k in {r[column] for r in rows}
        )
    agree = cli_json(ws, "agreement", "INC-CSV")
    assert set(agree) >= {"annotators", "items_annotated", "pairwise", "fleiss_kappa", "disagreements"}
    assert agree["annotators"] == ["r1", "r2", "r3"] and agree["items_annotated"] == 60
    pair = next(p for p in agree["pairwise"] if (p["a"], p["b"]) == ("r1", "r2"))
    both = [r for r in rows if r["r2"]]
    assert pair["n"] == len(both)
    assert pair["kappa"] == pytest.approx(cohen_kappa_score([r["r1"] for r in both], [r["r2"] for r in both]))
    assert agree["disagreements"] == sorted(
        r["post_id"] for r in rows if len({r[c] for c in ("r1", "r2", "r3") if r[c]}) > 1
    )
    table = run_cli(ws, "agreement", "INC-CSV")
    assert table.exit_code == 0 and "fleiss_kappa" in table.stdout and "r1  r2" in table.stdout


def test_import_rejects_an_unknown_annotation_label_or_column(samples: dict[str, Any], tmp_path: Path) -> None:
    ws = samples["ws"]
    export = tmp_path / "bad.csv"
    export.write_text("id,text,gold,r1\na,hi,violating,maybe\n", encoding="utf-8")
    common = ("--policy", "hate_speech", "--content-col", "text", "--expected-col", "gold", "--id-col", "id")
    result = run_cli(ws, "incident", "import", str(export), "--id", "INC-BAD", *common, "--annotation-cols", "r1")
    assert result.exit_code == 2 and f"{export}:2" in result.stderr and "annotation column 'r1'" in result.stderr
    result = run_cli(ws, "incident", "import", str(export), "--id", "INC-BAD", *common, "--annotation-cols", "r9")
    assert result.exit_code == 2 and "--annotation-cols 'r9' is not a column" in result.stderr
    assert not (ws / "incidents/INC-BAD").exists()


def test_items_jsonl_annotations_are_checked_with_file_and_line(workspace: Path) -> None:
    path = workspace / "incidents/INC-T1/items.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[1])
    row["annotations"] = [{"annotator": "r1", "label": "toxic"}, {"annotator": "r1", "label": "rude"}]
    lines[1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(workspace, "agreement", "INC-T1")
    assert result.exit_code == 2
    assert "items.jsonl:2" in result.stderr and "'rude' is not one of" in result.stderr
    assert "annotator 'r1' labels this item twice" in result.stderr


def test_agreement_from_items_jsonl_and_without_annotations(workspace: Path) -> None:
    assert cli_json(workspace, "agreement", "INC-T1")["annotators"] == []
    path = workspace / "incidents/INC-T1/items.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    for i, row in enumerate(rows):
        row["annotations"] = [
            {"annotator": "ana", "label": row["expected"]},
            {"annotator": "bo", "label": row["expected"] if i % 3 else "toxic"},
        ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    doc = cli_json(workspace, "agreement", "INC-T1")
    ana = [r["expected"] for r in rows]
    bo = [r["expected"] if i % 3 else "toxic" for i, r in enumerate(rows)]
    assert doc["pairwise"] == [
        {"a": "ana", "b": "bo", "n": len(rows), "kappa": pytest.approx(cohen_kappa_score(ana, bo))}
    ]
    assert doc["disagreements"] == sorted(r["id"] for i, r in enumerate(rows) if ana[i] != bo[i])


def cited(ws: Path, run_id: int) -> dict[str, list[str]]:
    import sqlite3

    with sqlite3.connect(ws / ".modtui/modtui.db") as db:
        return {
            item: json.loads(rules)
            for item, rules in db.execute("SELECT item_id, rules_json FROM result WHERE run_id = ?", (run_id,))
        }


def test_runs_show_by_rule_is_the_items_citing_each_rule(samples: dict[str, Any]) -> None:
    ws, verdicts = samples["ws"], samples["verdicts"][2]
    rules = cited(ws, 2)
    assert any(rules.values())  # the offline target cites the rules that fired and the exceptions that cleared
    doc = cli_json(ws, "runs", "show", "2", "--by", "rule")
    assert doc["by"] == "rule"
    names = {r for rs in rules.values() for r in rs}
    assert {s["key"] for s in doc["slices"]} == names | ({"(none)"} if not all(rules.values()) else set())
    for s in doc["slices"]:
        assert set(s) == SLICE_KEYS | {"cited_fp_items", "unknown_rule"} and s["unknown_rule"] is False
        members = [i for i, rs in rules.items() if (s["key"] in rs if s["key"] != "(none)" else not rs)]
        want = expected_slice(members, verdicts)
        for key, expected in want.items():
            assert s[key] == pytest.approx(expected), (s["key"], key)
        assert s["cited_fp_items"] == sorted(
            i for i in members if verdicts[i]["label"] == POS and verdicts[i]["expected"] != POS
        )
    table = run_cli(ws, "runs", "show", "2", "--by", "rule")
    assert table.exit_code == 0 and f"\n{doc['slices'][0]['key']} " in table.stdout


def test_runs_compare_by_rule_counts_rules_either_run_cited(samples: dict[str, Any]) -> None:
    ws = samples["ws"]
    before, after = cited(ws, 1), cited(ws, 2)
    whole = cli_json(ws, "runs", "compare", "1", "2")["flips"]
    doc = cli_json(ws, "runs", "compare", "1", "2", "--by", "rule")
    for s in doc["slices"]:
        for item in s["fixed_items"] + s["regressed_items"]:
            either = set(before.get(item, [])) | set(after.get(item, []))
            assert s["key"] in either if s["key"] != "(none)" else not either
    assert {i for s in doc["slices"] for i in s["fixed_items"]} == set(whole["fixed"])
    assert {i for s in doc["slices"] for i in s["regressed_items"]} == set(whole["regressed"])


def test_report_root_cause_sections_on_the_samples(samples: dict[str, Any]) -> None:
    import jsonschema

    ws = samples["ws"]
    doc = cli_json(ws, "report", "INC-0042")
    schema = json.loads((ROOT / "src/modtui/report/schema.json").read_text())
    jsonschema.validate(doc, schema)
    runs = {r["role"]: r for r in doc["root_cause"]["runs"]}
    assert set(runs) == {"production", "candidate"} and runs["candidate"]["run_id"] == 2
    cand = runs["candidate"]
    show = cli_json(ws, "runs", "show", "2")
    for key in ("precision", "precision_ci", "recall", "recall_ci", "f1", "f1_ci"):
        assert cand[key] == pytest.approx(show["metrics"][key]), key
    assert cand["calibration"] == pytest.approx(show["calibration"]) and cand["kappa_vs_gold"] == pytest.approx(
        show["kappa_vs_gold"]
    )
    by_rule = {s["key"]: s for s in cli_json(ws, "runs", "show", "2", "--by", "rule")["slices"]}
    assert {r["rule"] for r in cand["rules"]} == set(by_rule) - {"(none)"}
    for rule in cand["rules"]:
        s = by_rule[rule["rule"]]
        assert (rule["items"], rule["tp"], rule["fp"], rule["precision"]) == (
            s["items"],
            s["tp"],
            s["fp"],
            s["precision"],
        )
        assert rule["cited_fp_items"] == s["cited_fp_items"][:20]
    fps = [s["fp"] for s in cand["top_fp"]]
    assert fps == sorted(fps, reverse=True) and all(fps) and len(fps) <= 5
    for s in cand["top_fp"] + cand["top_fn"]:  # each one is the slice `runs show --by` gives
        same = next(x for x in cli_json(ws, "runs", "show", "2", "--by", s["by"])["slices"] if x["key"] == s["key"])
        assert (s["items"], s["fp"], s["fn"], s["precision_ci"]) == (
            same["items"],
            same["fp"],
            same["fn"],
            same["precision_ci"],
        )
    assert doc["root_cause"]["agreement"] is None  # the samples record no annotations
    assert all("precision_ci" in r for r in doc["actions"]["runs"])
    md = run_cli(ws, "report", "INC-0042").stdout
    assert "## Where the errors are" in md and "## Calibration" in md and "Per-rule precision" in md
    p, (lo, hi) = show["metrics"]["precision"], show["metrics"]["precision_ci"]
    assert f"P {p:.3f} [{lo:.2f}–{hi:.2f}]" in md


def test_report_label_agreement_section(workspace: Path) -> None:
    path = workspace / "incidents/INC-T1/items.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    for i, row in enumerate(rows):
        row["annotations"] = [
            {"annotator": "ana", "label": row["expected"]},
            {"annotator": "bo", "label": "toxic" if i % 3 == 0 else row["expected"]},
            {"annotator": "cy", "label": row["expected"]},
        ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import jsonschema

    doc = cli_json(workspace, "report", "INC-T1")
    jsonschema.validate(doc, json.loads((ROOT / "src/modtui/report/schema.json").read_text()))
    agree = doc["root_cause"]["agreement"]
    cli = cli_json(workspace, "agreement", "INC-T1")
    same = set(cli) - {"incident", "disagreements"}
    assert {k: agree[k] for k in same} == {k: cli[k] for k in same} and set(agree) == same | {"disagreements"}
    disputed = [r["id"] for i, r in enumerate(rows) if i % 3 == 0 and r["expected"] != "toxic"]
    assert agree["disagreements"]["count"] == len(disputed)
    assert [e["item"] for e in agree["disagreements"]["items"]] == sorted(disputed)
    assert doc["root_cause"]["runs"] == []  # nothing replayed yet
    md = run_cli(workspace, "report", "INC-T1").stdout
    assert "## Label agreement" in md and "annotators disagree on" in md and "## Where the errors are" not in md
