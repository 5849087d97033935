"""Golden sets: add (fixed / all / ids), list, replay --golden with the same gates and formats, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import copy_samples

from modtui.services import golden
from modtui.workspace import Workspace


@pytest.fixture
def samples(tmp_path: Path, migrated_log: Path) -> Path:
    return copy_samples(tmp_path / "samples", migrated_log)


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _replay_candidate(run_cli, root: Path) -> dict:  # type: ignore[no-untyped-def]
    return _json(run_cli(root, "replay", "INC-0042", "-p", "hate_speech/candidate", "--format", "json"))


# -- add ----------------------------------------------------------------------------------------------


def test_fixed_needs_a_candidate_run(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "fixed")
    assert result.exit_code == 2
    assert "no candidate run" in result.stderr and "modtui replay INC-0042" in result.stderr
    assert not (samples / "goldens").exists()
    run_cli(samples, "replay", "INC-0042")  # production only: still no candidate
    assert run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "fixed").exit_code == 2


def test_fixed_copies_what_the_latest_candidate_fixed(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    replay = _replay_candidate(run_cli, samples)
    candidate = next(r for r in replay["runs"] if r["baseline_run_id"] is not None)
    fixed = candidate["flips"]["fixed"]
    assert fixed
    added = _json(run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "fixed", "--format", "json"))
    assert added["run_id"] == candidate["run_id"] and sorted(added["added"]) == sorted(fixed)
    lines = _lines(samples / "goldens" / "ci.jsonl")
    header, items = lines[0], lines[1:]
    assert header["golden"] == "ci" and header["policy"] == "hate_speech" and header["positive_label"] == "violating"
    assert header["production"]["prompt"] == "prompts/hate_speech/production.yaml"
    source = {i.id: i for i in Workspace.open(samples).load_incident("INC-0042").items}
    for row in items:
        original = source[row["item"]]
        assert row["id"] == f"INC-0042/{row['item']}" and row["incident"] == "INC-0042"
        assert (row["content"], row["expected"], row["kind"]) == (
            original.content,
            original.expected,
            original.kind.value,
        )
    # the same again: nothing added twice
    again = _json(run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "fixed", "--format", "json"))
    assert again["added"] == [] and sorted(again["already_present"]) == sorted(fixed)
    assert len(_lines(samples / "goldens" / "ci.jsonl")) == len(fixed) + 1


def test_fixed_from_a_chosen_run(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    replay = _replay_candidate(run_cli, samples)
    production, candidate = replay["runs"][0]["run_id"], replay["runs"][1]["run_id"]
    ok = _json(
        run_cli(
            samples,
            "golden",
            "add",
            "INC-0042",
            "--set",
            "ci",
            "--items",
            "fixed",
            "--run",
            str(candidate),
            "--format",
            "json",
        )
    )
    assert ok["run_id"] == candidate
    for run, message in ((production, "no baseline"), (999, "no run 999")):
        bad = run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "fixed", "--run", str(run))
        assert bad.exit_code == 2 and message in bad.stderr
    other = run_cli(samples, "golden", "add", "INC-0057", "--set", "spam", "--items", "fixed", "--run", str(candidate))
    assert other.exit_code == 2 and "is on INC-0042" in other.stderr
    assert run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--run", str(candidate)).exit_code == 2


def test_ids_and_all(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    ids = _json(
        run_cli(
            samples,
            "golden",
            "add",
            "INC-0042",
            "--set",
            "mix",
            "--items",
            "i-0002",
            "--items",
            "i-0001,i-0003",
            "--format",
            "json",
        )
    )
    assert ids["added"] == ["i-0002", "i-0001", "i-0003"]
    every = _json(run_cli(samples, "golden", "add", "INC-0042", "--set", "mix", "--format", "json"))
    assert len(every["added"]) == 89 and len(every["already_present"]) == 3 and every["items"] == 92


@pytest.mark.parametrize(
    "args, message",
    [
        (("INC-0042", "--set", "ci", "--items", "i-9999"), "no item 'i-9999'"),
        (("INC-0042", "--set", "ci", "--items", "fixed", "--items", "i-0001"), "not a mix"),
        (("INC-0042", "--set", "bad name"), "not a valid golden set name"),
        (("INC-9999", "--set", "ci"), "no incident"),
        (("INC-0042",), "--set"),
    ],
)
def test_add_bad_input_exit_2(samples: Path, run_cli, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(samples, "golden", "add", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (samples / "goldens" / "ci.jsonl").exists()


def test_a_set_keeps_one_policy(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "i-0001").exit_code == 0
    before = (samples / "goldens" / "ci.jsonl").read_text()
    result = run_cli(samples, "golden", "add", "INC-0057", "--set", "ci")
    assert result.exit_code == 2 and "for policy hate_speech" in result.stderr and "scam_spam" in result.stderr
    assert (samples / "goldens" / "ci.jsonl").read_text() == before


def test_list(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    assert _json(run_cli(samples, "golden", "list", "--format", "json")) == {"goldens": []}
    run_cli(samples, "golden", "add", "INC-0042", "--set", "hs", "--items", "i-0001,i-0002")
    run_cli(samples, "golden", "add", "INC-0057", "--set", "spam")
    sets = _json(run_cli(samples, "golden", "list", "--format", "json"))["goldens"]
    assert [(s["name"], s["items"], s["policy"], s["incidents"]) for s in sets] == [
        ("hs", 2, "hate_speech", ["INC-0042"]),
        ("spam", 87, "scam_spam", ["INC-0057"]),
    ]
    table = run_cli(samples, "golden", "list")
    assert table.exit_code == 0 and "goldens/spam.jsonl" in table.stdout


# -- replay --golden -------------------------------------------------------------------------------------


def test_replay_golden_with_formats_and_gates(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    incident = _replay_candidate(run_cli, samples)
    run_cli(samples, "golden", "add", "INC-0042", "--set", "ci")
    data = _json(run_cli(samples, "replay", "--golden", "ci", "-p", "hate_speech/candidate", "--format", "json"))
    assert data["incident"] == "golden:ci" and data["positive_label"] == "violating"
    # the same items, prompts and (offline) target as the incident's replay: the same numbers
    for mine, theirs in zip(data["runs"], incident["runs"]):
        for key in ("items", "tp", "fp", "fn", "tn", "precision", "recall", "f1"):
            assert mine[key] == theirs[key], key
        assert sorted(mine["flips"]["fixed"]) == sorted(f"INC-0042/{i}" for i in theirs["flips"]["fixed"])
    regressed = run_cli(samples, "replay", "--golden", "ci", "-p", "hate_speech/candidate", "--fail-on-regression")
    assert regressed.exit_code == 1 and "gate failed" in regressed.stderr
    recall = run_cli(samples, "replay", "--golden", "ci", "-p", "hate_speech/candidate", "--min-recall", "0.5")
    assert recall.exit_code == 0, recall.stderr
    lines = run_cli(samples, "replay", "--golden", "ci", "--format", "jsonl")
    assert lines.exit_code == 0 and len(lines.stdout.splitlines()) == 92
    csv = run_cli(samples, "replay", "--golden", "ci", "--format", "csv")
    assert csv.exit_code == 0 and csv.stdout.startswith("run_id,target,prompt")
    runs = _json(run_cli(samples, "runs", "list", "golden:ci", "--format", "json"))["runs"]
    assert len(runs) == 8 and all(r["incident"] == "golden:ci" for r in runs)
    assert run_cli(samples, "runs", "list", "golden:nope").exit_code == 2


def test_a_fixed_golden_set_passes_its_gate(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """The CI use: the items a candidate fixed become a regression test: every one must stay right."""
    _replay_candidate(run_cli, samples)
    run_cli(samples, "golden", "add", "INC-0042", "--set", "fixes", "--items", "fixed")
    ok = run_cli(
        samples,
        "replay",
        "--golden",
        "fixes",
        "-p",
        "hate_speech/candidate",
        "--min-accuracy",
        "1",
        "--fail-on-regression",
        "--format",
        "json",
    )
    assert ok.exit_code == 0, ok.stderr
    runs = json.loads(ok.stdout)["runs"]
    assert runs[1]["accuracy"] == 1.0 and runs[0]["accuracy"] == 0.0
    # a prompt that gets them wrong again (here: production itself, judged alone) fails the gate
    bad = run_cli(samples, "replay", "--golden", "fixes", "--min-accuracy", "1")
    assert bad.exit_code == 1 and "accuracy 0.000 < 1.0" in bad.stderr


@pytest.mark.parametrize(
    "args", [("--golden", "nope"), ("INC-0042", "--golden", "ci"), (), ("--golden", "ci", "--baseline", "1")]
)
def test_replay_golden_bad_input_exit_2(samples: Path, run_cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "i-0001")
    run_cli(samples, "replay", "INC-0042")  # run 1 is on INC-0042: not a baseline for golden:ci
    assert run_cli(samples, "replay", *args).exit_code == 2


def test_a_broken_golden_file_is_located(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    run_cli(samples, "golden", "add", "INC-0042", "--set", "ci", "--items", "i-0001,i-0002")
    path = samples / "goldens" / "ci.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[2])
    row["expected"] = "spam"
    path.write_text("\n".join([lines[0], lines[1], json.dumps(row), "{not json"]) + "\n")
    result = run_cli(samples, "replay", "--golden", "ci")
    assert result.exit_code == 2
    assert "goldens/ci.jsonl:3" in result.stderr and "goldens/ci.jsonl:4" in result.stderr
    path.write_text('{"id": "x"}\n')
    headless = run_cli(samples, "golden", "list")
    assert headless.exit_code == 2 and "goldens/ci.jsonl:1" in headless.stderr and "header" in headless.stderr


def test_golden_ids_are_pseudo_incidents() -> None:
    assert golden.is_golden("golden:ci") and not golden.is_golden("INC-0042")
