"""What the CLI prints, across commands: one name for one thing, numbers for reading, columns that line up
in a terminal, help with an example, a closed pipe that is not an error."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from rich.cells import cell_len

from modtui.cli import main
from modtui.cli.output import LONG_LIST, echo_table, json_text, p_value

SAMPLES = Path(__file__).resolve().parent.parent
INC = "INC-0042"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The samples' INC-0042 replayed offline (production = run 1, candidate = run 2) into a temporary log."""
    from conftest import run_cli

    db = str(tmp_path_factory.mktemp("log") / "modtui.db")

    def cli(*args: str) -> Any:
        result = run_cli(SAMPLES, "--db", db, *args)
        assert result.exit_code == 0, result.output
        return result

    replay = json.loads(cli("replay", INC, "-p", "hate_speech/candidate", "--format", "json").stdout)
    return {"cli": cli, "replay": replay, "db": db}


# ------------------------------------------------------------------ one name for one thing
def test_runs_are_named_the_same_in_every_command(replayed: dict[str, Any]) -> None:
    cli = replayed["cli"]
    from_replay = {r["run_id"]: (r["prompt"], r["prompt_version"]) for r in replayed["replay"]["runs"]}
    listed = json.loads(cli("runs", "list", INC, "--format", "json").stdout)["runs"]
    shown = {n: json.loads(cli("runs", "show", str(n), "--format", "json").stdout) for n in from_replay}
    compared = json.loads(cli("runs", "compare", "1", "2", "--format", "json").stdout)
    report = json.loads(cli("report", INC, "--format", "json").stdout)["actions"]["runs"]
    for source in (listed, list(shown.values()), [compared["baseline"], compared["candidate"]], report):
        assert {r["run_id"]: (r["prompt"], r["prompt_version"]) for r in source} == from_replay
    assert sorted(p for p, _ in from_replay.values()) == ["hate_speech/candidate", "hate_speech/production"]
    assert not any("run" in r or "version" in r for r in listed)  # the old names are gone, not kept beside


def test_tables_name_columns_as_the_json_does(replayed: dict[str, Any]) -> None:
    cli = replayed["cli"]
    for args in (("runs", "list"), ("runs", "compare", "1", "2"), ("replay", INC, "-p", "hate_speech/candidate")):
        header = cli(*args).stdout.splitlines()[0].split()
        assert header[0] == "RUN_ID" and "RUN" not in header and "VERSION" not in header, args
        assert "hate_speech/candidate" in cli(*args).stdout and "prompts/" not in cli(*args).stdout


def test_runs_show_prints_latency_as_columns(replayed: dict[str, Any]) -> None:
    out = replayed["cli"]("runs", "show", "2").stdout
    assert "{" not in out and "p50" not in out  # no dict repr
    header, values = (line.split() for line in out.split("\n\n")[1].splitlines()[:2])
    row = dict(zip(header, values))
    assert {"P50_MS", "P95_MS", "TP", "COST_USD"} <= set(row) and row["ITEMS"] == "92"
    assert re.search(r"(?m)^f1 +0\.\d{3} \[0\.\d\d–0\.\d\d\]$", out)  # rates with their 95 % interval


# ------------------------------------------------------------------ numbers
def test_p_values_are_never_zero_and_rates_have_three_decimals(replayed: dict[str, Any]) -> None:
    cli = replayed["cli"]
    p = replayed["replay"]["runs"][1]["mcnemar_p"]
    assert 0 < p < 1e-3  # the samples' candidate: 37 fixed, 4 regressed
    table = cli("replay", INC, "-p", "hate_speech/candidate").stdout
    assert p_value(p) in table and "0.000 " not in table and re.search(r"\b0\.\d{3}\b", table)
    assert f"McNemar p={p_value(p)}" in cli("runs", "compare", "1", "2").stdout
    assert [p_value(x) for x in (0.625, 0.03125, 1.026e-07, 1.0, 0.0)] == [
        "0.625",
        "0.0312",
        "1.03e-07",
        "1",
        "<1e-300",
    ]


# ------------------------------------------------------------------ terminal cells
def test_columns_align_by_terminal_cell_width(capsys: pytest.CaptureFixture[str]) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one ZWJ sequence: two cells
    rows = [
        {"who": "日本語", "n": 1},
        {"who": f"{family} fam", "n": 2},
        {"who": "plain", "n": 3},
        {"who": "\x1b[31mred", "n": 4},
    ]
    echo_table(rows)
    lines = capsys.readouterr().out.splitlines()
    assert family in lines[2] and "\\u200d" not in lines[2]  # the emoji as written, not escaped
    assert "\\x1b[31mred" in lines[4]  # the control character shown, never sent
    starts = {cell_len(line[: line.rindex(str(n))]) for n, line in enumerate(lines[1:], 1)}
    assert len(starts) == 1  # column N starts at the same cell on every line


def test_a_closed_pipe_ends_quietly(replayed: dict[str, Any]) -> None:
    """`modtui runs list | head -1`: the reader leaves first; the command exits 0 and prints no traceback."""
    modtui = str(Path(sys.executable).with_name("modtui"))
    proc = subprocess.Popen(
        [modtui, "--workspace", str(SAMPLES), "--db", replayed["db"], "runs", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the process has started writing
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and err == b""


# ------------------------------------------------------------------ incident show
def test_incident_show_keeps_the_description_and_counts_events(run_cli: Any, workspace: Path) -> None:
    folder = workspace / "incidents" / "INC-T1"
    text = (folder / "incident.yaml").read_text()
    description = "Creators report removals.\n\nSecond paragraph: 日本語 and 🏳️‍🌈 as written."
    text = (
        re.sub(r"(?m)^description:.*(\n  .*)*\n?", "", text)
        + "description: |\n"
        + "".join(f"  {line}\n" if line else "\n" for line in description.splitlines())
    )
    (folder / "incident.yaml").write_text(text)
    for n in range(22):
        assert run_cli(workspace, "incident", "status", "INC-T1", ("investigating", "open")[n % 2]).exit_code == 0
    out = run_cli(workspace, "incident", "show", "INC-T1").stdout
    assert description in out
    assert "timeline (the newest 20 of 22 events; --format json lists all):" in out
    doc = json.loads(run_cli(workspace, "incident", "show", "INC-T1", "--format", "json").stdout)
    assert len(doc["timeline"]) == 22


# ------------------------------------------------------------------ help
def _contexts() -> list[click.Context]:
    """Every command's context as `modtui … --help` builds it (the root's settings, such as -h, inherited)."""
    out, todo = [], [click.Context(main, info_name="modtui", **main.context_settings)]
    while todo:
        ctx = todo.pop(0)
        out.append(ctx)
        if isinstance(ctx.command, click.Group):
            todo += [
                click.Context(sub, info_name=name, parent=ctx) for name, sub in sorted(ctx.command.commands.items())
            ]
    return out


@pytest.mark.parametrize("ctx", _contexts(), ids=lambda ctx: ctx.command_path)
def test_every_command_has_an_example_and_helpful_options(ctx: click.Context) -> None:
    path, text = ctx.command_path, ctx.command.get_help(ctx)
    assert re.search(r"\n  Example[^\n]*:\n    modtui", text), (
        f"`{path} --help` needs a short usage example: end its docstring with '\\b', 'Example:' and a command"
    )
    for param in ctx.command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{path} {param.opts[0]} has no help text"


def test_incident_new_and_import_take_the_id_positionally(run_cli: Any, workspace: Path, tmp_path: Path) -> None:
    made = run_cli(workspace, "incident", "new", "INC-N1", "--policy", "toxicity")
    assert made.exit_code == 0, made.output
    assert run_cli(workspace, "incident", "new", "--id", "INC-N2", "--policy", "toxicity").exit_code == 0
    export = tmp_path / "export.csv"
    export.write_text("text,label\nyou idiot,toxic\nnice day,ok\n")
    mapped = ("--policy", "toxicity", "--content-col", "text", "--expected-col", "label")
    assert run_cli(workspace, "incident", "import", "INC-I1", str(export), *mapped).exit_code == 0
    assert run_cli(workspace, "incident", "import", str(export), "--id", "INC-I2", *mapped).exit_code == 0
    for incident in ("INC-N1", "INC-N2", "INC-I1", "INC-I2"):
        assert f"id: {incident}" in (workspace / "incidents" / incident / "incident.yaml").read_text()
    imported = json.loads(run_cli(workspace, "incident", "show", "INC-I1", "--format", "json").stdout)
    assert imported["counts"] == {"eval": 2}
    both = run_cli(workspace, "incident", "new", "INC-N3", "--id", "INC-N4", "--policy", "toxicity")
    assert both.exit_code == 2 and "two ids" in both.stderr
    none = run_cli(workspace, "incident", "new", "--policy", "toxicity")
    assert none.exit_code == 2 and "missing the incident id" in none.stderr


def test_long_lists_of_scalars_are_one_line_and_read_back_the_same() -> None:
    ids = [f"i-{n}" for n in range(LONG_LIST + 1)] + ["bidi \u202e and bell \x07", None, 1.5, True]
    data = {"flips": {"fixed": ids, "regressed": []}, "f1_ci": [0.5, 0.75], "rows": [{"ids": ids}], "n": 3}
    text = json_text(data)
    assert json.loads(text) == data
    long_lines = [line for line in text.splitlines() if '"i-0"' in line]
    assert len(long_lines) == 2 and all(line.strip().endswith(("],", "]")) for line in long_lines)  # one line each
    assert '"f1_ci": [\n' in text  # short lists stay indented, as before
    assert "\\u202e" in text and "\\u0007" in text and "\u202e" not in text  # escaped in the long list too
