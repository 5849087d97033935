"""Issue 17, outputs: the Markdown report shows content, findings, names and authors as inert text — a viewer
renders no link, image or HTML from them (a tracking pixel in a post stays text); links come only from
modtui's own text, and the report has none. (CSV formula cells: tests/test_untrusted_names.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

PIXEL = "![x](https://evil.example/pixel.gif?u=1)"
HOSTILE = (
    f"{PIXEL} [click me](javascript:alert(1)) <img src=https://evil.example/i.png> "
    "https://evil.example/bare www.evil.example mail ops@evil.example [ref]: https://evil.example/ref "
    "`code` back\\slash"
)


def test_markdown_report_renders_no_link_image_or_html_from_content(workspace: Path, run_cli: Any) -> None:
    items = workspace / "incidents" / "INC-T1" / "items.jsonl"
    rows = [json.loads(line) for line in items.read_text().splitlines() if line]
    for row in rows:
        row["content"] = f"{row['content']} {HOSTILE}"
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for args in (
        ["replay", "INC-T1", "-p", "prompts/toxicity/candidate.yaml"],
        ["finding", "add", "INC-T1", "-c", "policy_gap", "-s", HOSTILE, "--fix", HOSTILE, "--item", "i-01"],
    ):
        result = run_cli(workspace, *args, env={"MODTUI_AUTHOR": "[me](https://evil.example/a)"})
        assert result.exit_code == 0, result.stderr
    report = run_cli(workspace, "report", "INC-T1")
    assert report.exit_code == 0, report.stderr
    md = report.stdout
    assert "evil.example/pixel.gif" in md  # the content is there, as text
    html = MarkdownIt("gfm-like").render(md)  # tables, strikethrough and linkify (bare URLs become links)
    assert "<a " not in html and "<img" not in html, [
        line for line in html.splitlines() if "<a " in line or "<img" in line
    ][:3]
    assert "&lt;img src=" in html and "javascript:alert" in html
    assert html.count("evil.example/bare") >= 1 and "<code>https://evil.example/bare</code>" in html


def test_inert_text_keeps_ordinary_text_readable() -> None:
    from modtui.report.markdown import _text

    assert _text("ratio 3:1 at 12:30, note:this; a_b *c*") == "ratio 3:1 at 12:30, note:this; a_b *c*"
    assert _text("see https://x.example/p and [a](b)") == "see `https://x.example/p` and \\[a\\](b)"
    assert _text("``tick`` " + "https://x.example/`y`") == "\\`\\`tick\\`\\` `` https://x.example/`y` ``"


def test_one_fixed_count_per_run_each_stating_its_baseline(samples_or_workspace: Path, run_cli: Any) -> None:
    """After `--baseline observed` the runs table, the best candidate and the summary show the same fixed count
    for the run, each saying what it is against (was: the best candidate recomputed it against production's run)."""
    ws = samples_or_workspace
    result = run_cli(
        ws, "replay", "INC-T1", "-p", "prompts/toxicity/candidate.yaml", "--baseline", "observed", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    replayed = {r["run_id"]: r for r in json.loads(result.stdout)["runs"]}
    data = json.loads(run_cli(ws, "report", "INC-T1", "--format", "json").stdout)
    best = data["actions"]["best_candidate"]
    row = next(r for r in data["actions"]["runs"] if r["run_id"] == best["run_id"])
    fixed = len(replayed[best["run_id"]]["flips"]["fixed"])
    assert row["fixed"] == best["fixed"] == fixed and row["baseline"] == best["baseline"] == "observed"
    assert f"{fixed} fixed, {best['regressed']} regressed against observed." in data["summary"]
    md = run_cli(ws, "report", "INC-T1").stdout
    assert f"{fixed} fixed and {best['regressed']} regressed against observed" in md


@pytest.fixture
def samples_or_workspace(workspace: Path) -> Path:
    return workspace
