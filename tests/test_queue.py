"""`modtui queue`: a hand-built incident ranked as the reasons say, near-duplicates collapsed, the CSV export."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from modtui.analysis.queue import Reason, rank, reason
from modtui.report import schema

try:
    from fakeserver import Reply, verdict_text
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Reply, verdict_text

from robustness_support import content_of

INC = "INC-Q1"
ITEMS = [
    {"id": "q-agree", "content": "you are a moron", "expected": "toxic", "observed": "toxic"},
    {
        "id": "q-split",
        "content": "what a lovely day",
        "expected": "ok",
        "observed": "toxic",
        "annotations": [{"annotator": "r1", "label": "ok"}],
    },
    {
        "id": "q-dup-1",
        "content": "Buy cheap followers now at example dot com, 100 for 1 dollar",
        "expected": "ok",
        "observed": "ok",
    },
    {
        "id": "q-dup-2",
        "content": "Buy cheap followers now at example dot com, 500 for 3 dollars",
        "expected": "ok",
        "observed": "ok",
    },
    {
        "id": "q-dup-3",
        "content": "buy cheap followers NOW at example dot com, 900 for 5 dollars",
        "expected": "ok",
        "observed": "ok",
    },
    {"id": "q-formula", "content": '=HYPERLINK("http://x.example","lovely")', "expected": "ok", "observed": "ok"},
    {"id": "q-calm", "content": "hello friend", "expected": "ok", "observed": "ok"},
]


def two_minds(request: Any) -> Any:
    """gpt-mini (OpenAI) and claude (Anthropic) agree except on 'lovely' and 'followers', which claude calls toxic;
    both call 'moron' toxic with a confidence of 0.55, close to the 0.5 threshold."""
    content = content_of(request)
    if "moron" in content:
        return Reply(text=verdict_text("toxic", confidence=0.55))
    if ("lovely" in content or "followers" in content) and request.api == "anthropic":
        return "toxic"
    return "ok"


@pytest.fixture
def ws(served_workspace: Path, fake_server: Any) -> Path:
    folder = served_workspace / "incidents" / INC
    folder.mkdir()
    source = (served_workspace / "incidents" / "INC-T1" / "incident.yaml").read_text()
    (folder / "incident.yaml").write_text(source.replace("INC-T1", INC))
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    fake_server.responder = two_minds
    return served_workspace


def test_an_item_two_targets_disagree_on_ranks_above_one_they_agree_on(run_cli: Any, ws: Path) -> None:
    done = run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude")
    assert done.exit_code == 0, done.output
    shown = run_cli(ws, "queue", INC, "--format", "json")
    assert shown.exit_code == 0, shown.output
    queue = json.loads(shown.stdout)["queue"]
    order = [q["item_id"] for q in queue]
    assert order.index("q-split") < order.index("q-agree")
    assert "q-calm" not in order  # nothing about it needs a human
    by_id = {q["item_id"]: q for q in queue}
    assert [r["reason"] for r in by_id["q-split"]["reasons"]] == ["disagreement"]
    assert "gpt-mini × toxicity/production: ok" in by_id["q-split"]["reasons"][0]["detail"]
    assert [r["reason"] for r in by_id["q-agree"]["reasons"]] == ["low_margin"]
    assert by_id["q-agree"]["labels"] == {
        "claude × toxicity/production": "toxic",
        "gpt-mini × toxicity/production": "toxic",
    }
    # the three near-duplicates are one case: one representative, the others folded into it
    dups = [i for i in order if i.startswith("q-dup")]
    assert dups == ["q-dup-1"] and by_id["q-dup-1"]["duplicates"] == ["q-dup-2", "q-dup-3"]
    assert json.loads(shown.stdout)["candidates"] == 6

    small = json.loads(run_cli(ws, "queue", INC, "--size", "2", "--format", "json").stdout)["queue"]
    assert [q["item_id"] for q in small] == order[:2]


def test_export_for_a_labelling_tool(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude")
    out = tmp_path / "queue.csv"
    done = run_cli(ws, "queue", INC, "--export", str(out))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["id", "content", "reasons", "expected", "observed", "current_labels", "label"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["q-formula"]["content"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert "disagreement" in by_id["q-split"]["reasons"] and by_id["q-split"]["label"] == ""
    assert "claude × toxicity/production: toxic" in by_id["q-split"]["current_labels"]
    assert run_cli(ws, "queue", INC, "--format", "csv").stdout == out.read_text(encoding="utf-8")


def fill_in(path: Path, labels: dict[str, str]) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        row["label"] = labels.get(row["id"], "")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def annotations(ws: Path) -> dict[str, list[dict[str, str]]]:
    lines = (ws / "incidents" / INC / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return {i["id"]: i.get("annotations", []) for i in map(json.loads, lines)}


def test_labels_come_back_as_annotations_without_losing_the_old_ones(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude")
    out = tmp_path / "queue.csv"
    assert run_cli(ws, "queue", INC, "--export", str(out)).exit_code == 0
    fill_in(out, {"q-split": "toxic", "q-agree": "toxic"})
    done = run_cli(ws, "incident", "import", str(out), "--id", INC, "--update", "--annotator", "r3")
    assert done.exit_code == 0, done.output
    assert "2 annotations added" in done.stderr
    notes = annotations(ws)
    assert notes["q-split"] == [{"annotator": "r1", "label": "ok"}, {"annotator": "r3", "label": "toxic"}]
    assert notes["q-agree"] == [{"annotator": "r3", "label": "toxic"}] and notes["q-calm"] == []
    queue = json.loads(run_cli(ws, "queue", INC, "--format", "json").stdout)["queue"]
    split = next(q for q in queue if q["item_id"] == "q-split")
    assert [r["reason"] for r in split["reasons"]] == ["disagreement", "annotators_disagree"]
    agreement = json.loads(run_cli(ws, "agreement", INC, "--format", "json").stdout)
    assert agreement["disagreements"] == ["q-split"]

    fill_in(out, {"q-agree": "ok"})  # r3 changes their mind about one item
    again = run_cli(ws, "incident", "import", str(out), "--id", INC, "--update", "--annotator", "r3")
    assert again.exit_code == 0 and "0 annotations added, 1 changed" in again.stderr
    assert annotations(ws)["q-agree"] == [{"annotator": "r3", "label": "ok"}]
    assert annotations(ws)["q-split"] == notes["q-split"]


def test_an_export_with_labels_filled_in_is_never_overwritten(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    """The same `queue --export` again replaced the file, and the labels someone had filled in were gone."""
    run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude")
    out = tmp_path / "queue.csv"
    assert run_cli(ws, "queue", INC, "--export", str(out)).exit_code == 0
    assert run_cli(ws, "queue", INC, "--export", str(out)).exit_code == 0  # nothing filled in yet: rewritten
    fill_in(out, {"q-split": "toxic"})
    labelled = out.read_bytes()
    again = run_cli(ws, "queue", INC, "--export", str(out))
    assert again.exit_code == 2 and again.stdout == ""
    assert (
        f"{out}: holds 1 label(s) filled in: bring them back first (`modtui incident import {INC} {out} --update`)"
        in again.stderr
    )
    assert out.read_bytes() == labelled


def test_a_bad_labelled_file_changes_nothing(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    before = (ws / "incidents" / INC / "items.jsonl").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\nq-split,toxic\nq-nope,ok\nq-agree,maybe\n", encoding="utf-8")
    done = run_cli(ws, "incident", "import", str(bad), "--id", INC, "--update")
    assert done.exit_code == 2
    assert f"{bad}:3: no item 'q-nope'" in done.stderr and f"{bad}:4: column 'label' value 'maybe'" in done.stderr
    assert (ws / "incidents" / INC / "items.jsonl").read_bytes() == before
    mapped = run_cli(ws, "incident", "import", str(bad), "--id", INC, "--update", "--label-map", "maybe=toxic")
    assert mapped.exit_code == 2 and "q-nope" in mapped.stderr  # still all or nothing
    missing = run_cli(ws, "incident", "import", str(bad), "--id", INC)
    assert missing.exit_code == 2 and "--policy" in missing.stderr


def test_an_annotator_name_with_an_escape_is_refused_naming_annotator(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,label\nq-split,toxic\n", encoding="utf-8")
    before = (ws / "incidents" / INC / "items.jsonl").read_bytes()
    done = run_cli(ws, "incident", "import", str(labelled), "--id", INC, "--update", "--annotator", "r\x1b[31m3")
    assert done.exit_code == 2
    assert done.stderr.startswith("error: --annotator: author 'r\\x1b[31m3'"), done.stderr  # not --author
    assert (ws / "incidents" / INC / "items.jsonl").read_bytes() == before


def test_masked_content_stays_masked_in_the_export(run_cli: Any, ws: Path, tmp_path: Path) -> None:
    config = ws / "modtui.toml"
    config.write_text(config.read_text().replace("[workspace]\n", '[workspace]\nmask_severity_at_or_above = "SEV3"\n'))
    run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude")
    out = tmp_path / "queue.csv"
    assert run_cli(ws, "queue", INC, "--export", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(r["content"].startswith("[masked]") for r in rows)


def test_rank_by_hand() -> None:
    reasons: dict[str, list[Reason]] = {
        "a": [reason("low_margin", "", 0.5)],
        "b": [reason("disagreement", "")],
        "c": [reason("disagreement", ""), reason("probe_flip", "")],
        "d": [reason("probe_flip", "")],
        "e": [reason("unstable", "")],
        "f": [],
    }
    ranked = rank(reasons, clusters=[["c", "d"], ["a", "f"]])
    assert [e.item_id for e in ranked] == ["c", "b", "e", "a"]
    assert ranked[0].duplicates == ["d"] and ranked[0].score == 4.5
    assert [e.item_id for e in rank(reasons, size=2)] == ["c", "b"]


def test_the_report_has_a_robustness_section(run_cli: Any, ws: Path) -> None:
    assert run_cli(ws, "replay", INC, "-m", "gpt-mini", "-m", "claude").exit_code == 0
    assert run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2").exit_code == 0
    assert run_cli(ws, "probe", INC, "-m", "claude", "--mutations", "leet,case").exit_code == 0
    doc = json.loads(run_cli(ws, "report", INC, "--format", "json").stdout)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    data = doc["robustness"]
    (probe,) = data["probes"]
    assert probe["target"] == "claude" and [m["name"] for m in probe["mutations"]] == ["leet", "case"]
    leet = probe["mutations"][0]
    assert leet["flipped"] > 0 and "q-split" in leet["flipped_parents"]  # claude matches 'lovely' literally
    assert data["worst_rules"][0]["flipped"] > 0
    (stable,) = data["stability"]
    assert stable["repeats"] == 2 and stable["unanimous"] == 1.0 and stable["target"] == "gpt-mini"
    queue = [q["item"] for q in data["queue"]]
    assert queue.index("q-split") < queue.index("q-agree") and "q-calm" not in queue
    markdown = run_cli(ws, "report", INC).stdout
    for heading in ("## Robustness", "### Evasion probes", "### Repeat stability", "### Review queue (top)"):
        assert heading in markdown
    redacted = json.loads(run_cli(ws, "report", INC, "--format", "json", "--redact").stdout)["robustness"]
    assert all(q["content"] == "[redacted]" for q in redacted["queue"])


def test_every_reason_reaches_the_queue(run_cli: Any, ws: Path, fake_server: Any) -> None:
    """A label dispute, a wobbling item under repeats, and annotators who disagree each put an item in the queue."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def wobbling(request: Any) -> Any:  # "hello friend" is toxic on odd calls, ok on even ones
        content = content_of(request)
        with lock:
            calls[content] += 1
            odd = calls[content] % 2 == 1
        return ("toxic" if odd else "ok") if "hello" in content else two_minds(request)

    fake_server.responder = wobbling
    assert run_cli(ws, "replay", INC, "-m", "gpt-mini", "--repeat", "2").exit_code == 0  # q-calm: toxic, then ok
    disputed = run_cli(ws, "finding", "add", INC, "-c", "label_error", "-s", "mislabelled", "--correct", "q-agree=ok")
    assert disputed.exit_code == 0, disputed.output
    items = (
        (ws / "incidents" / INC / "items.jsonl")
        .read_text()
        .replace(
            '"id": "q-dup-2"',
            '"annotations": [{"annotator": "a", "label": "ok"}, {"annotator": "b", "label": "toxic"}], "id": "q-dup-2"',
        )
    )
    (ws / "incidents" / INC / "items.jsonl").write_text(items)
    queue = json.loads(run_cli(ws, "queue", INC, "--format", "json").stdout)["queue"]
    reasons = {q["item_id"]: [r["reason"] for r in q["reasons"]] for q in queue}
    assert reasons["q-calm"] == ["unstable"]
    assert reasons["q-agree"][0] == "label_disputed" and "low_margin" in reasons["q-agree"]
    assert "annotators_disagree" in reasons["q-dup-2"]  # the only one of its cluster with a reason
    assert not any(i in reasons for i in ("q-dup-1", "q-dup-3"))
