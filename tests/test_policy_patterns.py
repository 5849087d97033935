"""Issue 17, policies that hang: a policy regex with nested quantifiers plus crafted content must not hang an
offline replay. Patterns are matched with RE2 (linear time) where it compiles them; a pattern it cannot compile
runs under a per-item time limit that records a typed `timeout` result; `validate` warns about both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modtui.policy.model import Policy
from modtui.policy.patterns import backtracking_risk, compile_pattern
from reliability_support import cli_env, db_path, modtui_cmd, query

EVIL = r"\b(\w+\s?)+ are (vermin|rats)\b"
CRAFTED = "abcdefghij" * 4 + "!"  # no stretched letters for the normaliser to squeeze; ~2^40 steps to give up on


def with_rule(workspace: Path, pattern: str) -> None:
    prompt = workspace / "prompts/toxicity/production.yaml"
    text = prompt.read_text(encoding="utf-8")
    rule = f"    - name: nested\n      patterns: ['{pattern}']\n"
    prompt.write_text(text.replace("  rules:\n", "  rules:\n" + rule, 1), encoding="utf-8")


def add_items(workspace: Path, contents: list[str]) -> None:
    items = workspace / "incidents/INC-T1/items.jsonl"
    with items.open("a", encoding="utf-8") as out:
        for i, content in enumerate(contents):
            out.write(json.dumps({"id": f"evil-{i}", "content": content, "expected": "ok", "observed": "ok"}) + "\n")


def test_the_classic_shapes_are_flagged_and_the_samples_are_not() -> None:
    assert backtracking_risk(EVIL) and backtracking_risk(r"(a+)+b") and backtracking_risk(r"(?:x*y?)*z")
    root = Path(__file__).resolve().parent.parent
    import yaml

    for path in sorted((root / "prompts").rglob("*.yaml")):
        policy = Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))["policy"])
        for matcher in [*policy.rules, *policy.exceptions]:
            assert all(backtracking_risk(p) is None for p in matcher.patterns), (path, matcher.name)


def test_re2_and_python_agree_on_ascii_text() -> None:
    import re

    for source, text in [
        (EVIL, "these people are rats"),
        (r"\bshould (all )?be (deported|banned)\b", "x should be banned"),
        (r"[^.!?\n]{0,40}\b(hate|sick of)\b", "so sick of it. I hate mondays"),
    ]:
        pattern = compile_pattern(source, re.IGNORECASE)
        assert pattern.linear is not None
        assert pattern.search(text, ascii_text=True) == pattern.python.search(text).group(0)  # type: ignore[union-attr]


def test_a_nested_quantifier_does_not_hang_an_offline_replay(workspace: Path) -> None:
    """As a whole process with a deadline: before RE2 this replay did not end."""
    with_rule(workspace, EVIL)
    add_items(workspace, [CRAFTED, "é" + CRAFTED, "those people are rats"])
    done = subprocess.run(
        modtui_cmd(workspace, "replay", "INC-T1", "-m", "offline", "--format", "json"),
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=workspace,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = dict(query(db_path(workspace), "SELECT item_id, label FROM result WHERE item_id LIKE 'evil-%'"))
    assert rows == {"evil-0": "ok", "evil-1": "ok", "evil-2": "toxic"}


def test_a_pattern_re2_cannot_compile_is_bounded_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """A look-behind keeps the pattern on Python's engine: the crafted item ends as a typed `timeout` result
    after the limit, the others are classified."""
    from modtui.domain.prompt import PromptTemplate
    from modtui.providers import rules

    monkeypatch.setattr(rules, "PATTERN_SECONDS", 0.3)
    slow = r"(?<![x])(\w+\s?)+ are (vermin|rats)\b"
    assert compile_pattern(slow, 0).fallback
    policy = Policy.model_validate({"rules": [{"name": "nested", "patterns": [slow]}]})
    template = PromptTemplate.model_validate(
        {"name": "t", "labels": ["toxic", "ok"], "system": "s", "user": "{{ content }}", "policy": policy.model_dump()}
    )
    provider = rules.RulesProvider.__new__(rules.RulesProvider)
    replies = provider.decide_many(template, ["fine text", CRAFTED, "they are rats"])
    assert replies[0].verdict and replies[0].verdict.label == "ok"
    assert replies[1].error_type == "timeout" and "RE2 cannot compile" in (replies[1].error or "")
    assert replies[2].verdict and replies[2].verdict.label == "toxic"


def test_validate_warns_about_patterns_that_can_backtrack(workspace: Path, run_cli: Any) -> None:
    with_rule(workspace, EVIL)
    result = run_cli(workspace, "validate")
    assert result.exit_code == 0, result.stderr
    assert "prompts/toxicity/production.yaml: warning" not in result.stderr  # the path leads the line
    assert "warning: prompts/toxicity/production.yaml: rule 'nested'" in result.stderr
    assert "can backtrack catastrophically" in result.stderr and "RE2" in result.stderr


def test_re2_is_a_dependency() -> None:
    assert subprocess.run([sys.executable, "-c", "import re2"], capture_output=True).returncode == 0
