"""Every reply a real provider or local server sends ends as the right result (issue 11).

One fake server for the module; one model name per reply shape, each shape built from the providers' API
references (OpenAI Chat Completions, Anthropic Messages, the OpenAI-compatible servers' reasoning fields, Azure's
content filter). Replays go through the real SDKs and the CLI, and the recorded result is asserted per shape.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ANTHROPIC_KEY_ENV, OPENAI_KEY_ENV, run_cli

from modtui.domain.verdict import Outcome
from modtui.providers.base import Reply
from modtui.replay.parsing import parse_reply

try:
    from fakeserver import FakeRequest, FakeServer, Fault
    from fakeserver import Reply as FakeReply
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeRequest, FakeServer, Fault
    from tests.fakeserver import Reply as FakeReply

INC = "INC-T1"
ITEMS = 12
DRAFT, FINAL = '{"label": "ok", "confidence": 0.6}', '{"label": "toxic", "confidence": 0.9, "rules": ["insult"]}'
HARMONY = (
    "<|channel|>analysis<|message|>The user wrote an insult. Draft: " + DRAFT + "<|end|><|start|>assistant"
    "<|channel|>final<|message|>" + FINAL + "<|return|>"
)
AZURE_FILTER = {
    "hate": {"filtered": True, "severity": "high"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "medium"},
}

# model name → (api, what the fake server answers, the recorded (outcome, label, error_type), rules cited)
SHAPES: dict[str, tuple[str, Any, tuple[str, str | None, str | None], list[str]]] = {
    "qwen3-think": (
        "openai",
        FakeReply(text=f"<think>\nHmm. {DRAFT}\n</think>\n\n{FINAL}"),
        ("label", "toxic", None),
        ["insult"],
    ),
    "deepseek-r1-lone-close": (
        "openai",
        FakeReply(text=f"The template opened the block. {DRAFT}\n</think>\n\n{FINAL}"),
        ("label", "toxic", None),
        ["insult"],
    ),
    "gpt-oss-llamacpp": ("openai", FakeReply(text=HARMONY), ("label", "toxic", None), ["insult"]),
    "r1-bare-word": (
        "openai",
        FakeReply(text="<think>It might be ok... no.</think>\n\ntoxic"),
        ("label", "toxic", None),
        [],
    ),
    "two-verdicts": (
        "openai",
        FakeReply(text=f"First thought: {DRAFT}\nOn reflection, final: {FINAL}"),
        ("label", "toxic", None),
        ["insult"],
    ),
    "vllm-reasoning-field": (
        "openai",
        FakeReply(text=FINAL, message_extra={"reasoning_content": DRAFT, "reasoning": DRAFT}),
        ("label", "toxic", None),
        ["insult"],
    ),
    "magistral-medium": (
        "openai",
        FakeReply(
            content_parts=(
                {"type": "thinking", "thinking": [{"type": "text", "text": DRAFT}]},
                {"type": "text", "text": FINAL},
            )
        ),
        ("label", "toxic", None),
        ["insult"],
    ),
    "gpt-4o-tools": (
        "openai",
        FakeReply(
            text=None,
            finish_reason="tool_calls",
            tool_calls=(
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "record_verdict", "arguments": '{"label": "toxic", "rules": ["threat"]}'},
                },
            ),
        ),
        ("label", "toxic", None),
        ["threat"],
    ),
    "gpt-4o-pinned": (
        "openai",
        FakeReply(
            text=FINAL,
            model="gpt-4o-2024-08-06",
            system_fingerprint="fp_7a1c",
            usage_extra={"prompt_tokens_details": {"cached_tokens": 0}},
        ),
        ("label", "toxic", None),
        ["insult"],
    ),
    "azure-filtered-answer": (
        "openai",
        FakeReply(text="", finish_reason="content_filter", choice_extra={"content_filter_results": AZURE_FILTER}),
        ("refusal", None, None),
        [],
    ),
    "azure-filtered-prompt": (
        "openai",
        Fault(
            "bad_request",
            code="content_filter",
            param="prompt",
            message="The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            extra={
                "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": AZURE_FILTER},
            },
        ),
        ("refusal", None, None),
        [],
    ),
    "odd-content-server": ("openai", FakeReply(content_value={"text": FINAL}), ("error", None, "bad_response"), []),
    "claude-tool-use": (
        "anthropic",
        FakeReply(
            text=None,
            finish_reason="tool_use",
            blocks=(
                {"type": "thinking", "thinking": f"Maybe {DRAFT}", "signature": "sig"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "record_verdict",
                    "input": {"label": "toxic", "confidence": 0.8, "rules": ["threat"]},
                },
            ),
        ),
        ("label", "toxic", None),
        ["threat"],
    ),
    "claude-thinking": (
        "anthropic",
        FakeReply(
            text=FINAL,
            blocks=(
                {"type": "thinking", "thinking": DRAFT, "signature": "sig"},
                {"type": "redacted_thinking", "data": "x"},
            ),
        ),
        ("label", "toxic", None),
        ["insult"],
    ),
    "claude-context-window": (
        "anthropic",
        FakeReply(text='{"label": "to', finish_reason="model_context_window_exceeded"),
        ("truncated", None, None),
        [],
    ),
    "claude-cached": (
        "anthropic",
        FakeReply(
            text=FINAL,
            input_tokens=100,
            output_tokens=10,
            usage_extra={"cache_creation_input_tokens": 2000, "cache_read_input_tokens": 8000},
        ),
        ("label", "toxic", None),
        ["insult"],
    ),
}


# guard models as targets: model name → (the prompt's output block, a function of the content → the model's answer)
GUARDS: dict[str, tuple[str, Any]] = {
    "llama-guard3:8b": (
        "{format: llama_guard, unsafe_label: toxic, safe_label: ok, categories: {S10: hate, S1: threat}}",
        lambda c: "\n\nunsafe\nS1,S10" if "hurt" in c else "\n\nunsafe\nS10" if "idiot" in c else "safe",
    ),
    "shieldgemma:9b": (
        "{format: shieldgemma, unsafe_label: toxic, safe_label: ok, categories: {Harassment: insult}}",
        lambda c: "Yes" if "idiot" in c or "hurt" in c else "No",
    ),
    "gpt-oss-safeguard-20b": (
        "{format: gpt_oss_safeguard, categories: {T1: threat}}",
        lambda c: (
            "<|channel|>analysis<|message|>Policy T1... "
            + json.dumps({"violation": 0})
            + "<|end|><|start|>assistant<|channel|>final<|message|>"
            + json.dumps(
                {"violation": int("hurt" in c), "policy_category": "T1" if "hurt" in c else None, "confidence": "high"}
            )
            + "<|return|>"
        ),
    ),
}


def answer(request: FakeRequest) -> Any:
    if request.model in GUARDS:
        content = request.user_text.split("<content>", 1)[-1].split("</content>", 1)[0]
        return FakeReply(text=GUARDS[request.model][1](content))
    return SHAPES[request.model][1] if request.model in SHAPES else CONFIG_ERRORS.get(request.model, "ok")


# models whose target configuration the provider refuses: each must stop its target after the first reply
CONFIG_ERRORS: dict[str, Any] = {
    "gpt-nonexistent": Fault(
        "not_found", message="The model `gpt-nonexistent` does not exist or you do not have access to it."
    ),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        fake.labels = ["toxic", "ok"]
        fake.responder = answer
        yield fake


def target(name: str, api: str, url: str, **extra: Any) -> str:
    lines = [
        f"[targets.{name}]",
        f'provider = "{api}"',
        f'model = "{name}"',
        f'api_key_env = "{OPENAI_KEY_ENV if api == "openai" else ANTHROPIC_KEY_ENV}"',
        f'base_url = "{url}/v1"' if api == "openai" else f'base_url = "{url}"',
        "max_retries = 0",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items() if not isinstance(value, dict)]
    for key, value in extra.items():
        if isinstance(value, dict):
            lines += [f"[targets.{name}.{key}]"] + [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def ws(workspace: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(OPENAI_KEY_ENV, "sk-test-openai-0123456789")
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, "sk-ant-test-0123456789")
    server.reset_counts()
    tables = [
        target(
            name,
            api,
            server.url,
            price_in_per_mtok=3.0,
            price_out_per_mtok=15.0,
            price_cache_write_per_mtok=3.75,
            price_cache_read_per_mtok=0.3,
        )
        for name, (api, *_rest) in SHAPES.items()
    ]
    tables += [
        target("gpt-5-mini", "openai", server.url, concurrency=1, params={"temperature": 0}),
        target("o3-mini", "openai", server.url, concurrency=1, params={"max_tokens": 200}),
        target("gpt-nonexistent", "openai", server.url, concurrency=1),
        target("gpt-5-good", "openai", server.url, params={"max_completion_tokens": 400, "reasoning_effort": "low"}),
        target("local-llama", "openai", server.url).replace(f'api_key_env = "{OPENAI_KEY_ENV}"\n', ""),
    ]
    tables += [
        target(name.replace(":", "-"), "openai", server.url).replace(
            f'model = "{name.replace(":", "-")}"', f'model = "{name}"'
        )
        for name in GUARDS
    ]
    (workspace / "modtui.toml").write_text("\n".join(tables))
    return workspace


def replay_json(ws: Path, *targets: str, code: int = 0) -> tuple[dict[str, Any], str]:
    args = [a for t in targets for a in ("-m", t)]
    result = run_cli(ws, "replay", INC, *args, "--format", "json")
    assert result.exit_code == code, (result.stdout[-2000:], result.stderr[-2000:])
    return json.loads(result.stdout) if result.stdout.strip() else {}, result.stderr


def results_by_target(ws: Path) -> dict[str, list[dict[str, Any]]]:
    import sqlite3

    db = sqlite3.connect(ws / ".modtui" / "modtui.db")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT run.target_name, result.* FROM result JOIN run ON run.id = result.run_id").fetchall()
    finally:
        db.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["target_name"], []).append(dict(row))
    return out


def test_every_shape_in_one_replay_records_the_right_result(ws: Path, server: FakeServer) -> None:
    doc, stderr = replay_json(ws, *SHAPES)
    assert not doc["interrupted"] and {r["status"] for r in doc["runs"]} == {"completed"}
    recorded = results_by_target(ws)
    assert set(recorded) == set(SHAPES)
    for name, (_api, _reply, (outcome, label, error_type), rules) in SHAPES.items():
        rows = recorded[name]
        assert sorted(r["item_id"] for r in rows) == [f"i-{n:02d}" for n in range(1, ITEMS + 1)], name
        for row in rows:
            assert (row["outcome"], row["label"], row["error_type"]) == (outcome, label, error_type), (name, row)
            assert json.loads(row["rules_json"]) == rules, name
    assert "Traceback" not in stderr


def test_shape_details_are_recorded(ws: Path) -> None:
    replay_json(
        ws,
        "gpt-4o-pinned",
        "claude-cached",
        "azure-filtered-prompt",
        "azure-filtered-answer",
        "odd-content-server",
        "claude-tool-use",
    )
    recorded = results_by_target(ws)
    pinned = recorded["gpt-4o-pinned"][0]
    assert (pinned["answered_model"], pinned["system_fingerprint"]) == ("gpt-4o-2024-08-06", "fp_7a1c")
    cached = recorded["claude-cached"][0]
    assert (cached["tokens_in"], cached["cache_write_tokens"], cached["cache_read_tokens"]) == (10100, 2000, 8000)
    assert cached["cost_usd"] == pytest.approx((100 * 3.0 + 2000 * 3.75 + 8000 * 0.3 + 10 * 15.0) / 1e6)
    assert cached["answered_model"] == "claude-cached"
    for name in ("azure-filtered-prompt", "azure-filtered-answer"):
        assert recorded[name][0]["detail"] == "content_filter: hate (high), violence (medium)", name
    assert "could not be read" in recorded["odd-content-server"][0]["detail"]
    assert json.loads(recorded["claude-tool-use"][0]["rules_json"]) == ["threat"]
    assert recorded["claude-tool-use"][0]["confidence"] == 0.8


def test_cached_replies_keep_what_answered(ws: Path, server: FakeServer) -> None:
    replay_json(ws, "gpt-4o-pinned")
    calls = server.count()
    run_cli(ws, "runs", "list")
    result = run_cli(
        ws, "replay", INC, "-m", "gpt-4o-pinned", "-p", "prompts/toxicity/candidate.yaml", "--format", "json"
    )
    assert result.exit_code == 0 and server.count() == calls + ITEMS  # the production prompt's replies are cached
    shown = json.loads(run_cli(ws, "runs", "show", "1", "--format", "json").stdout)
    assert shown["answered_models"] == ["gpt-4o-2024-08-06"] and shown["system_fingerprints"] == ["fp_7a1c"]
    text = run_cli(ws, "runs", "show", "2").stdout  # served from the cache: the cache kept what answered
    assert "answered_models gpt-4o-2024-08-06\n" in text and "system_fingerprints fp_7a1c\n" in text


def test_a_model_change_between_baseline_and_candidate_is_warned(ws: Path, server: FakeServer) -> None:
    replay_json(ws, "gpt-4o-pinned")
    server.add_rule("", FakeReply(text=FINAL, model="gpt-4o-2024-11-20"))
    try:
        result = run_cli(ws, "replay", INC, "-m", "gpt-4o-pinned", "-p", "prompts/toxicity/candidate.yaml")
    finally:
        server.clear_rules()
    assert result.exit_code == 0
    # run 2 (production, served from the cache: answered by the model the cache recorded) vs run 3 (candidate)
    assert "warning: run 2 was answered by gpt-4o-2024-08-06 but run 3 by gpt-4o-2024-11-20" in result.stderr
    compared = run_cli(ws, "runs", "compare", "2", "3", "--format", "json")
    assert compared.exit_code == 0 and "confounded" in compared.stderr
    assert json.loads(compared.stdout)["warnings"] == [compared.stderr.strip().removeprefix("warning: ")]
    same = run_cli(ws, "runs", "compare", "1", "2")
    assert same.exit_code == 0 and "warning" not in same.stderr


def test_missing_key_is_refused_before_any_call(ws: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANTHROPIC_KEY_ENV)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-sdk-default-0123456789")  # never used instead
    result = run_cli(ws, "replay", INC, "-m", "qwen3-think", "-m", "claude-thinking")
    assert result.exit_code == 2 and result.stdout == "" and server.count() == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"${ANTHROPIC_KEY_ENV} is not set" in lines[0] and "claude-thinking" in lines[0]
    assert json.loads(run_cli(ws, "runs", "list", "--format", "json").stdout) == {"runs": []}
    keyless = run_cli(ws, "replay", INC, "-m", "local-llama")  # a local server names no key: it needs none
    assert keyless.exit_code == 0 and server.count() == ITEMS


def test_refused_parameters_and_unknown_models_stop_only_their_target(ws: Path, server: FakeServer) -> None:
    doc, stderr = replay_json(ws, "gpt-5-mini", "o3-mini", "gpt-nonexistent", "gpt-5-good", code=2)
    status = {r["target"]: r["status"] for r in doc["runs"]}
    assert status == {
        "gpt-5-mini": "failed",
        "o3-mini": "failed",
        "gpt-nonexistent": "failed",
        "gpt-5-good": "completed",
    }
    assert {r["target"]: r["items"] for r in doc["runs"]}["gpt-5-good"] == ITEMS
    for model in ("gpt-5-mini", "o3-mini", "gpt-nonexistent"):
        assert sum(1 for r in server.requests if r.request and r.request.model == model) == 1, model
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert any("Unsupported value: 'temperature' does not support 0" in e and "gpt-5-mini" in e for e in errors)
    assert any("Use 'max_completion_tokens' instead" in e and "o3-mini" in e for e in errors)
    assert any("`gpt-nonexistent` does not exist" in e for e in errors)
    good = [r for r in server.requests if r.request and r.request.model == "gpt-5-good"][0].request
    assert good.body["max_completion_tokens"] == 400 and good.body["reasoning_effort"] == "low"
    assert {len(rows) for name, rows in results_by_target(ws).items() if name != "gpt-5-good"} <= {0}


def test_guard_models_replay_like_any_target(ws: Path) -> None:
    production = (ws / "prompts" / "toxicity" / "production.yaml").read_text()
    for name, (output, _answer) in GUARDS.items():
        slug = name.replace(":", "-")
        (ws / "prompts" / "toxicity" / f"{slug}.yaml").write_text(
            production.replace("name: toxicity", f"name: {slug}") + f"output: {output}\n"
        )
        result = run_cli(ws, "replay", INC, "-m", slug, "-p", f"prompts/toxicity/{slug}.yaml", "--format", "json")
        assert result.exit_code == 0, result.stderr
    import sqlite3

    db = sqlite3.connect(ws / ".modtui" / "modtui.db")
    rows = db.execute(
        "SELECT run.target_name, result.item_id, result.outcome, result.label, result.rules_json, "
        "result.unknown_rules_json FROM result JOIN run ON run.id = result.run_id "
        "WHERE run.prompt_path LIKE '%-%'"
    ).fetchall()
    db.close()
    got = {(t, i): (o, lb, json.loads(r), json.loads(u)) for t, i, o, lb, r, u in rows}
    assert len(got) == 3 * ITEMS and all(v[0] == "label" for v in got.values())
    assert got[("llama-guard3-8b", "i-04")] == ("label", "toxic", ["threat", "hate"], [])  # "I will hurt you…"
    assert got[("llama-guard3-8b", "i-01")] == ("label", "toxic", ["hate"], [])
    assert got[("llama-guard3-8b", "i-07")] == ("label", "ok", [], [])
    assert got[("shieldgemma-9b", "i-01")] == ("label", "toxic", ["insult"], [])
    assert got[("shieldgemma-9b", "i-12")] == ("label", "ok", [], [])
    assert got[("gpt-oss-safeguard-20b", "i-04")] == ("label", "toxic", ["threat"], [])
    assert got[("gpt-oss-safeguard-20b", "i-01")] == ("label", "ok", [], [])


# ------------------------------------------------------------------ property: the final answer wins
WRAPS = ("think", "lone_close", "harmony", "harmony_bare", "drafts", "fenced", "plain")


def wrapped(final: str, reasoning: str, wrap: str) -> str:
    if wrap == "think":
        return f"<think>{reasoning}</think>\n{final}"
    if wrap == "lone_close":
        return f"{reasoning}\n</think>\n\n{final}"
    if wrap == "harmony":
        return (
            f"<|channel|>analysis<|message|>{reasoning}<|end|><|start|>assistant<|channel|>final<|message|>"
            f"{final}<|return|>"
        )
    if wrap == "harmony_bare":
        return f"analysis{reasoning}assistantfinal{final}"
    if wrap == "drafts":
        return f"{reasoning}\nSo the final answer is: {final}"
    if wrap == "fenced":
        return f"{reasoning}\n```json\n{final}\n```"
    return final


def test_property_the_final_answer_is_the_label() -> None:
    rng = random.Random(11)
    for _ in range(400):
        label, decoy = rng.sample(["toxic", "ok"], 2)
        final = rng.choice([json.dumps({"label": label, "confidence": 0.7}), label, f"**{label}**"])
        reasoning = rng.choice([json.dumps({"label": decoy}), f"it is {decoy}", f'"label": "{decoy}"', decoy, ""])
        wrap = rng.choice(WRAPS if final.startswith("{") else WRAPS[:4] + ("plain",))
        text = wrapped(final, reasoning, wrap)
        verdict = parse_reply(Reply(text=text, finish_reason="stop"), ["toxic", "ok"])
        assert (verdict.outcome, verdict.label) == (Outcome.LABEL, label), text


def test_property_no_reply_ends_a_replay(ws: Path, server: FakeServer) -> None:
    """Every reply shape, odd ones included, in a seeded order over two targets and two prompts: every item of every
    run has exactly one result and the replay exits cleanly."""
    rng = random.Random(14)
    pool = [shape for _api, shape, *_ in SHAPES.values()] + [
        FakeReply(content_value=[1, None, {"type": "text", "text": 5}]),
        FakeReply(content_value=7),
        FakeReply(text="\x00" + FINAL),
        FakeReply(text=FINAL, input_tokens=10**20, output_tokens=-5),
        FakeReply(text=FINAL, usage_extra={"prompt_tokens_details": [1], "cache_read_input_tokens": "many"}),
        FakeReply(text=FINAL, model="\x00gpt\x1b[31m", refusal=None, message_extra={"refusal": {"odd": True}}),
        FakeReply(tool_calls=({"type": "function", "function": None},), text=None),
        FakeReply(tool_calls=({"type": "function", "function": {"arguments": "{not json"}},), text=None),
        Fault("garbage", body='{"choices": [{"message": {"content": ["x", {"type": "text"}]}}]}'),
        Fault("garbage", body='{"content": [{"type": "text", "text": null}, 3], "stop_reason": "end_turn"}'),
    ]
    rng.shuffle(pool)
    calls = itertools.cycle(pool)  # 2 targets × 2 prompts × 12 items = 48 calls: every shape at least once
    server.responder = lambda request: next(calls)
    assert len(pool) <= 4 * ITEMS
    try:
        result = run_cli(
            ws,
            "replay",
            INC,
            "-m",
            "qwen3-think",
            "-m",
            "claude-thinking",
            "-p",
            "prompts/toxicity/candidate.yaml",
            "--format",
            "json",
        )
    finally:
        server.responder = answer
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert len(doc["runs"]) == 4 and {r["status"] for r in doc["runs"]} == {"completed"}
    with_runs = results_by_target(ws)
    for name, rows in with_runs.items():
        for run_id in {r["run_id"] for r in rows}:
            ids = sorted(r["item_id"] for r in rows if r["run_id"] == run_id)
            assert ids == [f"i-{n:02d}" for n in range(1, ITEMS + 1)], (name, run_id)
