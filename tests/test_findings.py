"""Findings from the command line and the service: evidence checks, resolve/supersede, label disputes."""

from __future__ import annotations

import json
import sys
import subprocess
import os
import shutil
from pathlib import Path

import pytest

from conftest import INCIDENT_ID, run_cli
from modtui.errors import UsageError
from modtui.services import findings as svc
from modtui.store.incidents import events
from modtui.workspace import Workspace

OTHER = "INC-T2"


@pytest.fixture
def ws_dir(workspace: Path) -> Path:
    """The test workspace plus a second incident (a copy of INC-T1 under another id)."""
    src, dest = workspace / "incidents" / INCIDENT_ID, workspace / "incidents" / OTHER
    shutil.copytree(src, dest)
    yaml = dest / "incident.yaml"
    yaml.write_text(yaml.read_text().replace(f"id: {INCIDENT_ID}", f"id: {OTHER}"))
    return workspace


def ok(*args: str, ws: Path) -> str:
    result = run_cli(ws, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def fails(*args: str, ws: Path) -> str:
    result = run_cli(ws, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    return result.stderr


def replay(ws: Path, incident: str = INCIDENT_ID) -> list[int]:
    doc = json.loads(ok("replay", incident, "-p", "toxicity/candidate", "--format", "json", ws=ws))
    return [r["run_id"] for r in doc["runs"]]


def findings_json(ws: Path, *args: str) -> list[dict]:
    return json.loads(ok("finding", "list", *args, "--format", "json", ws=ws))["findings"]


def timeline(ws: Path, incident: str = INCIDENT_ID) -> list:
    w = Workspace.open(ws)
    try:
        return events(w.store(), incident)
    finally:
        w.close()


# -- add ------------------------------------------------------------------------------------------------


def test_add_with_evidence_lists_and_records_an_event(ws_dir: Path) -> None:
    runs = replay(ws_dir)
    out = ok(
        "finding",
        "add",
        INCIDENT_ID,
        "--category",
        "prompt_ambiguity",
        "--summary",
        "Self-deprecation reads as an insult",
        "--item",
        "i-01",
        "--item",
        "i-02",
        "--run",
        str(runs[0]),
        "--run",
        str(runs[1]),
        "--fix",
        "self_deprecation exception",
        ws=ws_dir,
    )
    assert out.strip() == "1"
    [finding] = findings_json(ws_dir, INCIDENT_ID)
    assert finding["category"] == "prompt_ambiguity" and finding["status"] == "open"
    assert finding["items"] == ["i-01", "i-02"] and finding["runs"] == runs
    assert finding["author"] == "tester" and finding["fix"] == "self_deprecation exception"
    event = timeline(ws_dir)[0]
    assert event.kind == "finding" and event.author == "tester" and "finding #1 added" in event.summary
    table = ok("finding", "list", ws=ws_dir)
    assert "prompt_ambiguity" in table and "Self-deprecation" in table


def test_author_option_wins(ws_dir: Path) -> None:
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "x", "--author", "ana", ws=ws_dir)
    assert findings_json(ws_dir)[0]["author"] == "ana" and timeline(ws_dir)[0].author == "ana"


def test_unknown_category_suggests_the_nearest(ws_dir: Path) -> None:
    err = fails("finding", "add", INCIDENT_ID, "--category", "prompt_ambiguty", "--summary", "x", ws=ws_dir)
    assert "unknown category 'prompt_ambiguty'" in err and "did you mean 'prompt_ambiguity'" in err
    assert findings_json(ws_dir) == [] and timeline(ws_dir) == []


def test_categories_come_from_the_workspace(ws_dir: Path) -> None:
    config = ws_dir / "modtui.toml"
    config.write_text(config.read_text().replace("[workspace]\n", '[workspace]\ncategories = ["sarcasm", "slang"]\n'))
    assert ok("finding", "categories", ws=ws_dir).split() == ["sarcasm", "slang"]
    err = fails("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "x", ws=ws_dir)
    assert "expected one of sarcasm, slang" in err
    ok("finding", "add", INCIDENT_ID, "-c", "sarcasm", "-s", "x", ws=ws_dir)


def test_missing_evidence_item_and_run_are_named(ws_dir: Path) -> None:
    replay(ws_dir)
    err = fails(
        "finding",
        "add",
        INCIDENT_ID,
        "-c",
        "policy_gap",
        "-s",
        "x",
        "--item",
        "i-01",
        "--item",
        "i-99",
        "--run",
        "1",
        "--run",
        "42",
        ws=ws_dir,
    )
    assert "--item: no item 'i-99' in INC-T1" in err and "--run: no run 42" in err
    assert "i-01" not in err
    assert findings_json(ws_dir) == []


def test_run_from_another_incident_is_refused(ws_dir: Path) -> None:
    other_runs = replay(ws_dir, OTHER)
    err = fails("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "x", "--run", str(other_runs[0]), ws=ws_dir)
    assert f"run {other_runs[0]} is on {OTHER}, not {INCIDENT_ID}" in err


def test_unknown_incident_and_empty_summary(ws_dir: Path) -> None:
    assert "no incident 'INC-T3'" in fails("finding", "add", "INC-T3", "-c", "policy_gap", "-s", "x", ws=ws_dir)
    assert "needs a summary" in fails("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "  ", ws=ws_dir)


# -- resolve, supersede, list -------------------------------------------------------------------------------


def test_resolve_once_then_refused(ws_dir: Path) -> None:
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "first", ws=ws_dir)
    ok("finding", "resolve", "1", "--resolution", "shipped candidate v2", "--author", "bo", ws=ws_dir)
    [finding] = findings_json(ws_dir)
    assert (
        finding["status"] == "resolved" and finding["resolution"] == "shipped candidate v2" and finding["resolved_at"]
    )
    assert (
        timeline(ws_dir)[0].summary == "finding #1 resolved: shipped candidate v2"
        and timeline(ws_dir)[0].author == "bo"
    )
    err = fails("finding", "resolve", "1", "--resolution", "again", ws=ws_dir)
    assert "finding #1: already resolved" in err
    assert findings_json(ws_dir)[0]["resolution"] == "shipped candidate v2"
    assert "no finding 9" in fails("finding", "resolve", "9", "-r", "x", ws=ws_dir)
    assert "say how" in fails("finding", "resolve", "1", "-r", " ", ws=ws_dir)


def test_list_open_first_and_open_only(ws_dir: Path) -> None:
    for summary in ("a", "b", "c"):
        ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", summary, ws=ws_dir)
    ok("finding", "add", OTHER, "-c", "policy_gap", "-s", "elsewhere", ws=ws_dir)
    ok("finding", "resolve", "3", "-r", "done", ws=ws_dir)
    assert [f["id"] for f in findings_json(ws_dir, INCIDENT_ID)] == [2, 1, 3]
    assert [f["id"] for f in findings_json(ws_dir, INCIDENT_ID, "--open")] == [2, 1]
    assert [f["id"] for f in findings_json(ws_dir)] == [4, 2, 1, 3]


def test_supersede(ws_dir: Path) -> None:
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "first guess", ws=ws_dir)
    ok("finding", "add", INCIDENT_ID, "-c", "prompt_ambiguity", "-s", "better", ws=ws_dir)
    ok("finding", "add", OTHER, "-c", "policy_gap", "-s", "elsewhere", ws=ws_dir)
    assert "cannot supersede itself" in fails("finding", "supersede", "1", "--by", "1", ws=ws_dir)
    assert "finding #3 is on INC-T2, not INC-T1" in fails("finding", "supersede", "1", "--by", "3", ws=ws_dir)
    ok("finding", "supersede", "1", "--by", "2", ws=ws_dir)
    first = next(f for f in findings_json(ws_dir) if f["id"] == 1)
    assert first["status"] == "superseded" and first["superseded_by"] == 2
    assert timeline(ws_dir)[0].summary == "finding #1 superseded by #2"
    assert "already superseded by #2" in fails("finding", "supersede", "1", "--by", "2", ws=ws_dir)
    assert "already superseded" in fails("finding", "resolve", "1", "-r", "x", ws=ws_dir)
    assert "already superseded" in fails("finding", "supersede", "2", "--by", "1", ws=ws_dir)
    assert len(findings_json(ws_dir)) == 3  # never deleted


def test_a_rejected_finding_neither_supersedes_nor_is_superseded(ws_dir: Path) -> None:
    """A rejected finding turned into 'superseded' lost its rejection; one that replaces another is a wrong one."""
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "wrong guess", ws=ws_dir)
    ok("finding", "add", INCIDENT_ID, "-c", "prompt_ambiguity", "-s", "the cause", ws=ws_dir)
    ok("finding", "resolve", "1", "--rejected", "-r", "QA: not it", ws=ws_dir)
    events = len(timeline(ws_dir))
    assert "finding #1 was rejected: QA: not it" in fails("finding", "supersede", "1", "--by", "2", ws=ws_dir)
    assert "--by: finding #1 was rejected: QA: not it" in fails("finding", "supersede", "2", "--by", "1", ws=ws_dir)
    statuses = {f["id"]: f["status"] for f in findings_json(ws_dir)}
    assert statuses == {1: "rejected", 2: "open"} and len(timeline(ws_dir)) == events


def test_show(ws_dir: Path) -> None:
    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "i-06 is banter", "--correct", "i-06=ok", ws=ws_dir)
    doc = json.loads(ok("finding", "show", "1", "--format", "json", ws=ws_dir))
    assert doc["corrections"] == {"i-06": "ok"} and doc["items"] == ["i-06"]
    assert "i-06=ok" in ok("finding", "show", "1", ws=ws_dir)


# -- label disputes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("-c", "policy_gap", "--correct", "i-06=ok"),
            "label corrections belong to a finding of category 'label_error'",
        ),
        (
            ("-c", "label_error", "--correct", "i-06=okay"),
            "i-06: 'okay' is not one of the incident's labels toxic, ok (did you mean 'ok'?)",
        ),
        (("-c", "label_error", "--correct", "i-99=ok"), "no item 'i-99' in INC-T1"),
        (("-c", "label_error", "--correct", "i-06=toxic"), "i-06 is already labelled 'toxic'"),
        (("-c", "label_error", "--correct", "i-06"), "'i-06' is not ITEM=LABEL"),
        (("-c", "label_error", "--correct", "i-06=ok", "--correct", "i-06=toxic"), "i-06 is corrected twice"),
    ],
)
def test_bad_corrections(ws_dir: Path, args: tuple[str, ...], message: str) -> None:
    err = fails("finding", "add", INCIDENT_ID, "-s", "x", *args, ws=ws_dir)
    assert message in err
    assert findings_json(ws_dir) == []


def independent(lines: list[dict], gold: dict[str, str], run_id: int) -> dict[str, float | None]:
    """Precision / recall / F1 on `toxic` from the jsonl result lines, against `gold`."""
    rows = [r for r in lines if r["run_id"] == run_id]
    tp = sum(1 for r in rows if r["label"] == "toxic" and gold[r["item_id"]] == "toxic")
    fp = sum(1 for r in rows if r["label"] == "toxic" and gold[r["item_id"]] != "toxic")
    positives = sum(1 for r in rows if gold[r["item_id"]] == "toxic")
    p = tp / (tp + fp) if tp + fp else None
    r = tp / positives if positives else None
    return {
        "precision": p,
        "recall": r,
        "f1": (2 * p * r / (p + r) if p + r else 0.0) if p is not None and r is not None else None,
    }


def test_corrected_labels_change_metrics_and_originals_are_kept(ws_dir: Path) -> None:
    items_file = ws_dir / "incidents" / INCIDENT_ID / "items.jsonl"
    before = items_file.read_bytes()
    lines = [
        json.loads(line)
        for line in ok("replay", INCIDENT_ID, "-p", "toxicity/candidate", "--format", "jsonl", ws=ws_dir).splitlines()
    ]
    original = {json.loads(line)["id"]: json.loads(line)["expected"] for line in before.decode().splitlines()}
    # a dispute: i-06 ("you absolute moron") is banter between friends, i-07 is actually toxic
    ok(
        "finding",
        "add",
        INCIDENT_ID,
        "-c",
        "label_error",
        "-s",
        "two gold labels are wrong",
        "--correct",
        "i-06=ok",
        "--correct",
        "i-07=toxic",
        ws=ws_dir,
    )
    corrected = {**original, "i-06": "ok", "i-07": "toxic"}
    for run_id in (1, 2):
        orig = json.loads(ok("runs", "show", str(run_id), "--format", "json", ws=ws_dir))
        corr = json.loads(ok("runs", "show", str(run_id), "--format", "json", "--labels", "corrected", ws=ws_dir))
        for key, value in independent(lines, original, run_id).items():
            assert orig["metrics"][key] == pytest.approx(value)
        for key, value in independent(lines, corrected, run_id).items():
            assert corr["metrics"][key] == pytest.approx(value)
        assert corr["labels"] == "corrected" and set(corr["corrections"]) == {"i-06", "i-07"}
        assert orig["metrics"] != corr["metrics"]
    assert items_file.read_bytes() == before  # the original label is never lost
    assert [e.kind for e in timeline(ws_dir)[:2]] == ["dispute", "finding"]
    assert "i-06 toxic → ok" in timeline(ws_dir)[0].summary

    doc = json.loads(
        ok("replay", INCIDENT_ID, "-p", "toxicity/candidate", "--format", "json", "--labels", "corrected", ws=ws_dir)
    )
    assert doc["labels"] == "corrected"
    assert doc["corrections"]["i-06"] == {"original": "toxic", "corrected": "ok", "finding": 1}
    for run in doc["runs"]:
        assert run["precision"] == pytest.approx(independent(lines, corrected, run["run_id"] - 2)["precision"])
    plain = json.loads(ok("replay", INCIDENT_ID, "-p", "toxicity/candidate", "--format", "json", ws=ws_dir))
    assert "labels" not in plain and plain["runs"][0]["recall"] == pytest.approx(
        independent(lines, original, 1)["recall"]
    )
    # what the log stored for the runs is on the original labels
    listed = json.loads(ok("runs", "list", INCIDENT_ID, "--format", "json", ws=ws_dir))["runs"]
    assert all(
        r["precision"] == pytest.approx(independent(lines, original, 1 + (r["run_id"] - 1) % 2)["precision"])
        for r in listed
    )


def test_compare_with_corrected_labels(ws_dir: Path) -> None:
    replay(ws_dir)
    before = json.loads(ok("runs", "compare", "1", "2", "--format", "json", ws=ws_dir))["flips"]
    # i-01 was fixed by the candidate; say its gold label is really toxic: now the candidate regressed it
    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "x", "--correct", "i-01=toxic", ws=ws_dir)
    after = json.loads(ok("runs", "compare", "1", "2", "--format", "json", "--labels", "corrected", ws=ws_dir))["flips"]
    assert "i-01" in before["fixed"] and "i-01" in after["regressed"]
    assert "i-01" in json.loads(ok("runs", "compare", "1", "2", "--format", "json", ws=ws_dir))["flips"]["fixed"]


def test_which_findings_correct(ws_dir: Path) -> None:
    """Open and resolved label_error findings apply; rejected and superseded ones do not; the later finding wins."""
    replay(ws_dir)

    def correction() -> dict:
        return json.loads(ok("runs", "show", "1", "--format", "json", "--labels", "corrected", ws=ws_dir))[
            "corrections"
        ]

    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "a", "--correct", "i-06=ok", ws=ws_dir)
    assert correction() == {"i-06": {"original": "toxic", "corrected": "ok", "finding": 1}}
    ok("finding", "resolve", "1", "-r", "QA agreed", ws=ws_dir)
    assert correction()["i-06"]["finding"] == 1
    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "b", "--correct", "i-07=toxic", ws=ws_dir)
    ok("finding", "resolve", "2", "-r", "QA disagreed", "--rejected", ws=ws_dir)
    assert set(correction()) == {"i-06"}
    assert next(f for f in findings_json(ws_dir) if f["id"] == 2)["status"] == "rejected"
    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "c", "--correct", "i-05=ok", ws=ws_dir)
    ok("finding", "add", INCIDENT_ID, "-c", "label_error", "-s", "d", "--correct", "i-05=ok", ws=ws_dir)
    assert correction()["i-05"]["finding"] == 4
    ok("finding", "supersede", "1", "--by", "3", ws=ws_dir)
    assert set(correction()) == {"i-05"}


# -- the service, as the TUI uses it ------------------------------------------------------------------------------


def test_service_add_resolve(ws_dir: Path) -> None:
    ws = Workspace.open(ws_dir)
    try:
        with pytest.raises(UsageError) as exc:
            svc.add(ws, svc.NewFinding(INCIDENT_ID, "policy_gap", "x", "ana", items=["nope"]))
        assert [p.path for p in exc.value.problems] == ["--item"]
        finding = svc.add(ws, svc.NewFinding(INCIDENT_ID, "label_error", "x", "ana", corrections={"i-06": "ok"}))
        assert finding.id == 1 and finding.items == ("i-06",) and finding.corrects_labels
        closed = svc.resolve(ws, 1, "checked", "bo", rejected=True)
        assert closed.status.value == "rejected" and not closed.corrects_labels
        with pytest.raises(UsageError):
            svc.resolve(ws, 1, "again", "bo")
        assert svc.parse_corrections(["a = ok", "b=toxic"]) == {"a": "ok", "b": "toxic"}
    finally:
        ws.close()


def test_incident_list_counts_open_findings(ws_dir: Path) -> None:
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "a", ws=ws_dir)
    ok("finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "b", ws=ws_dir)
    ok("finding", "resolve", "1", "-r", "x", ws=ws_dir)
    rows = json.loads(ok("incident", "list", "--format", "json", ws=ws_dir))
    rows = rows["incidents"] if isinstance(rows, dict) else rows
    assert next(r for r in rows if r["id"] == INCIDENT_ID)["open_findings"] == 1


def test_compare_reads_no_config_and_other_commands_still_report_a_bad_one(ws_dir: Path) -> None:
    """`runs compare` reads only the log: modtui.toml (and pydantic, which checks it) stays out of the process, so a
    broken one does not stop it; every command that uses the config still reports it with file and line, exit 2."""
    replay(ws_dir)
    good = ok("runs", "compare", "1", "2", "--format", "json", ws=ws_dir)
    code = (
        "import sys\nfrom modtui.cli import main\n"
        "try:\n    main(sys.argv[1:], prog_name='modtui')\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('MODULES', code, *sorted(m for m in ('pydantic', 'yaml', 'sqlmodel') if m in sys.modules))\n"
    )
    args = ["-w", str(ws_dir), "runs", "compare", "1", "2", "--format", "json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODTUI_")}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.splitlines()[-1] == "MODULES 0", done.stderr[-2000:]
    toml = ws_dir / "modtui.toml"
    lines = toml.read_text().splitlines()
    toml.write_text("\n".join([*lines, "[targets.broken", 'model = "x"']) + "\n")
    assert ok("runs", "compare", "1", "2", "--format", "json", ws=ws_dir) == good
    for command in (["runs", "list"], ["targets"], ["replay", INCIDENT_ID, "-p", "toxicity/candidate"]):
        assert f"modtui.toml:{len(lines) + 1}:" in fails(*command, ws=ws_dir)
