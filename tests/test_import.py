"""`modtui incident import`: real-export quirks, label and column mapping, kinds, safety, size."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from conftest import INCIDENT_ID

BASE = ["--policy", "toxicity", "--content-col", "text", "--expected-col", "gold"]


def do_import(run_cli, workspace: Path, source: Path, incident_id: str = "INC-I", *extra: str):
    return run_cli(workspace, "incident", "import", str(source), "--id", incident_id, *BASE, *extra)


def items_of(workspace: Path, incident_id: str = "INC-I") -> list[dict]:
    path = workspace / "incidents" / incident_id / "items.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def assert_nothing_left(workspace: Path, incident_id: str = "INC-I") -> None:
    assert not (workspace / "incidents" / incident_id).exists()
    assert sorted(p.name for p in (workspace / "incidents").iterdir()) == [INCIDENT_ID]


# A messy export: BOM, CRLF, header names in odd case with spaces, quoted commas, quoted quotes,
# an embedded CRLF newline (the row spans lines 3-5), a blank line (6), labels the policy spells differently.
MESSY = (
    "\ufeffID, Text ,GOLD,Prod Verdict,Locale,surface\r\n"
    'a1,"hello, world",OK,OK,en-US,comment\r\n'
    'a2,"multi\r\nline\r\ncontent",OK,Toxic,en-GB,post\r\n'
    "\r\n"
    'a3,"say ""hi"", you moron",Toxic,OK,fr-FR,comment\r\n'
    "a4,fine,OK,OK,de-DE,dm\r\n"
)


def write_messy(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(MESSY.encode("utf-8"))
    return path


def test_messy_csv_imports(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = write_messy(tmp_path)
    result = do_import(
        run_cli,
        workspace,
        source,
        "INC-I",
        "--observed-col",
        "prod verdict",
        "--id-col",
        "id",
        "--meta-col",
        "locale",
        "--meta-col",
        "Surface",
        "--label-map",
        "OK=ok",
        "--label-map",
        "Toxic=toxic",
        "--title",
        "Messy export",
    )
    assert result.exit_code == 0, result.stderr
    assert "imported 4 items into incidents/INC-I/ (false_negative 1, false_positive 1, guard 2)" in result.stderr
    items = items_of(workspace)
    assert [i["id"] for i in items] == ["a1", "a2", "a3", "a4"]
    assert items[0]["content"] == "hello, world"
    assert items[1]["content"] == "multi\r\nline\r\ncontent"
    assert items[2]["content"] == 'say "hi", you moron'
    assert [i["kind"] for i in items] == ["guard", "false_positive", "false_negative", "guard"]
    assert items[2]["meta"] == {"locale": "fr-FR", "Surface": "comment"}
    assert items[0]["expected"] == "ok" and items[2]["observed"] == "ok"

    shown = json.loads(run_cli(workspace, "incident", "show", "INC-I", "--format", "json").stdout)
    assert shown["incident"]["title"] == "Messy export"
    assert shown["counts"] == {"guard": 2, "false_positive": 1, "false_negative": 1}
    assert run_cli(workspace, "validate").exit_code == 0


def test_line_numbers_after_embedded_newlines(workspace: Path, run_cli, tmp_path: Path) -> None:
    """Without the label map, rows 5 and 6 (physical lines, after a 3-line row and a blank) are named."""
    source = write_messy(tmp_path)
    result = do_import(run_cli, workspace, source, "INC-I", "--observed-col", "Prod Verdict", "--label-map", "OK=ok")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"{source}:3: observed value 'Toxic' is not a label of this policy ['toxic', 'ok']; add --label-map 'Toxic=LABEL'",
        f"{source}:7: expected value 'Toxic' is not a label of this policy ['toxic', 'ok']; add --label-map 'Toxic=LABEL'",
    ]
    assert_nothing_left(workspace)


def test_no_observed_column_gives_eval_and_row_ids(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "gold.csv"
    source.write_text("text,gold\nfirst,toxic\nsecond,ok\n", encoding="utf-8")
    result = do_import(run_cli, workspace, source)
    assert result.exit_code == 0, result.stderr
    items = items_of(workspace)
    assert [(i["id"], i["kind"], "observed" in i) for i in items] == [
        ("row-000001", "eval", False),
        ("row-000002", "eval", False),
    ]


def test_an_export_given_without_an_id_is_named_as_the_missing_id(workspace: Path, run_cli, tmp_path: Path) -> None:
    """`incident import export.csv …` read export.csv as the id and said 'missing SOURCE', the one thing given."""
    export = tmp_path / "export.csv"
    export.write_text("text,label\nhello,ok\n", encoding="utf-8")
    result = run_cli(workspace, "incident", "import", str(export), "--policy", "toxicity", "--content-col", "text")
    assert result.exit_code == 2
    assert (
        f"missing INCIDENT_ID: give the incident's id before the export, e.g. `modtui incident import INC-0101 {export}"
        in result.stderr
    )
    assert "missing SOURCE" not in result.stderr


def test_jsonl_import(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "export.jsonl"
    rows = [
        {"uid": 7, "text": "you moron", "gold": 1, "prod": 0, "extra": {"k": [1, 2]}},
        {"uid": 8, "text": "hi", "gold": 0, "prod": 1, "extra": None},
        {"uid": 9, "text": "fine", "gold": 0, "prod": 0, "extra": "x"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    result = do_import(
        run_cli,
        workspace,
        source,
        "INC-J",
        "--observed-col",
        "prod",
        "--id-col",
        "uid",
        "--meta-col",
        "extra",
        "--label-map",
        "1=toxic",
        "--label-map",
        "0=ok",
    )
    assert result.exit_code == 0, result.stderr
    items = items_of(workspace, "INC-J")
    assert [(i["id"], i["kind"]) for i in items] == [("7", "false_negative"), ("8", "false_positive"), ("9", "guard")]
    assert items[0]["meta"] == {"extra": {"k": [1, 2]}}


def test_refuses_overwrite_without_force(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold,prod\nyou moron,toxic,ok\n", encoding="utf-8")
    original = {p.name: p.read_bytes() for p in (workspace / "incidents" / INCIDENT_ID).iterdir()}
    result = do_import(run_cli, workspace, source, INCIDENT_ID, "--observed-col", "prod")
    assert result.exit_code == 2
    assert result.stderr.startswith("incidents/INC-T1: incident already exists; use --force to overwrite")
    assert {p.name: p.read_bytes() for p in (workspace / "incidents" / INCIDENT_ID).iterdir()} == original

    forced = do_import(run_cli, workspace, source, INCIDENT_ID, "--observed-col", "prod", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert [i["kind"] for i in items_of(workspace, INCIDENT_ID)] == ["false_negative"]
    shown = json.loads(run_cli(workspace, "incident", "show", INCIDENT_ID, "--format", "json").stdout)
    assert shown["counts"] == {"false_negative": 1}


def test_failed_force_import_keeps_the_existing_incident(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold\nyou moron,nonsense\n", encoding="utf-8")
    before = (workspace / "incidents" / INCIDENT_ID / "items.jsonl").read_bytes()
    result = do_import(run_cli, workspace, source, INCIDENT_ID, "--force")
    assert result.exit_code == 2
    assert f"{source}:2: expected value 'nonsense'" in result.stderr
    assert (workspace / "incidents" / INCIDENT_ID / "items.jsonl").read_bytes() == before
    assert not list((workspace / "incidents").glob(".staging-*"))


@pytest.mark.parametrize(
    "content, extra, message",
    [
        ("text,gold\nx,ok\n", ["--id-col", "uid"], ":1: --id-col 'uid' is not a column; columns: text, gold"),
        ("text,gold\nx,ok\n", ["--meta-col", "golds"], ":1: --meta-col 'golds' is not a column (did you mean 'gold'?)"),
        ("text,gold\n,ok\n", [], ":2: empty content in column 'text'"),
        ('text,gold\nx,ok\n"y,ok\nz,ok\n', [], ":3: CSV error: a quoted field in this row is never closed"),
        ('text,gold\n"x"y,ok\n', [], ":2: CSV error"),
        ("text,gold\nx,ok,surplus\n", [], ":2: row has 3 fields but the header has 2"),
        ("text,gold\n\n\n", [], ":1: no rows to import"),
    ],
)
def test_bad_exports_leave_nothing(
    workspace: Path, run_cli, tmp_path: Path, content: str, extra: list[str], message: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    result = do_import(run_cli, workspace, source, "INC-I", *extra)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"{source}{message}"), result.stderr
    assert "Traceback" not in result.stderr
    assert_nothing_left(workspace)


def test_bad_label_map_and_missing_source(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold\nx,ok\n", encoding="utf-8")
    result = do_import(run_cli, workspace, source, "INC-I", "--label-map", "toxic")
    assert result.exit_code == 2
    assert "--label-map: 'toxic' should look like SRC=DST" in result.stderr
    missing = do_import(run_cli, workspace, tmp_path / "nope.csv")
    assert missing.exit_code == 2
    assert f"{tmp_path / 'nope.csv'}: file not found" in missing.stderr
    assert_nothing_left(workspace)


def test_many_bad_rows_are_capped(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold\n" + "".join(f"x{i},bad{i}\n" for i in range(500)), encoding="utf-8")
    result = do_import(run_cli, workspace, source)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 101
    assert lines[0].startswith(f"{source}:2: expected value 'bad0'")
    assert lines[-1] == f"{source}:101: stopped after 100 problems"


def test_one_unmapped_value_is_one_line_with_its_count(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold\n" + "".join(f"x{i},bad\n" for i in range(500)), encoding="utf-8")
    result = do_import(run_cli, workspace, source)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{source}:2: expected value 'bad' is not a label of this policy "
        f"['toxic', 'ok'] (500 rows, first on this line); add --label-map 'bad=LABEL'"
    ]


def test_twenty_thousand_rows(workspace: Path, run_cli, tmp_path: Path) -> None:
    """A realistically sized export imports (no timing assertion: the suite's runtime shows it)."""
    rng = random.Random(7)
    source = tmp_path / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["id", "text", "gold", "prod", "locale"])
        for i in range(20_000):
            writer.writerow(
                [
                    f"r{i}",
                    f'post {i}, with "quotes"\nand a newline',
                    rng.choice(["toxic", "ok"]),
                    rng.choice(["toxic", "ok"]),
                    rng.choice(["en", "de", "fr"]),
                ]
            )
    result = do_import(
        run_cli, workspace, source, "INC-BIG", "--observed-col", "prod", "--id-col", "id", "--meta-col", "locale"
    )
    assert result.exit_code == 0, result.stderr
    items = items_of(workspace, "INC-BIG")
    assert len(items) == 20_000
    assert items[-1]["id"] == "r19999" and items[-1]["content"] == 'post 19999, with "quotes"\nand a newline'
    shown = json.loads(run_cli(workspace, "incident", "show", "INC-BIG", "--format", "json").stdout)
    assert sum(shown["counts"].values()) == 20_000


def test_label_map_to_an_unknown_label(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("text,gold\nx,spam\n", encoding="utf-8")
    result = do_import(run_cli, workspace, source, "INC-I", "--label-map", "spam=toxik")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --label-map: 'spam=toxik': 'toxik' is not a label of this policy "
        "['toxic', 'ok'] (did you mean 'toxic'?)"
    )
    assert_nothing_left(workspace)


def test_unicode_line_separators_in_content_round_trip(workspace: Path, run_cli, tmp_path: Path) -> None:
    """U+2028/U+2029/U+0085 and form feeds are text inside a JSONL line, not line breaks."""
    content = "one\u2028two\u2029three\u0085four\x0cfive\x1cend"
    source = tmp_path / "e.csv"
    source.write_text(f'text,gold\n"{content}",ok\nsecond,toxic\n', encoding="utf-8")
    result = do_import(run_cli, workspace, source)
    assert result.exit_code == 0, result.stderr
    assert [i["content"] for i in items_of(workspace)] == [content, "second"]
    assert run_cli(workspace, "validate").exit_code == 0

    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text(json.dumps({"text": content, "gold": "ok"}, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    broken = do_import(run_cli, workspace, jsonl, "INC-I3")
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"{jsonl}:2:2: invalid JSON")
