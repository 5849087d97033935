"""Verdict parsing (`modtui.replay.parsing`): tolerant of fences and prose, strict about labels."""

from __future__ import annotations

import pytest

from modtui.domain.verdict import ErrorType, Outcome
from modtui.providers.base import Reply
from modtui.replay.parsing import confidence, parse_reply, parse_text

LABELS = ["toxic", "ok"]
SYNONYMS = {"ok": ["not toxic", "safe", "non-toxic"], "toxic": ["abusive"]}


def label_of(text: str, synonyms: dict | None = None) -> tuple[str, str | None, float | None]:
    verdict = parse_text(text, LABELS, synonyms)
    return verdict.outcome.value, verdict.label, verdict.confidence


# ------------------------------------------------------------------ JSON shapes
def test_plain_json_with_rationale() -> None:
    verdict = parse_text('{"label": "toxic", "confidence": 0.8, "rationale": "insult"}', LABELS)
    assert (verdict.outcome, verdict.label, verdict.confidence, verdict.rationale) == (
        Outcome.LABEL,
        "toxic",
        0.8,
        "insult",
    )
    assert verdict.has_label and verdict.display == "toxic"


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"label": "ok", "confidence": 0.6}\n```',
        '```\n{"label": "ok", "confidence": 0.6}\n```',
        'Here is my answer:\n```JSON\n{"label": "ok", "confidence": 0.6}\n```\nLet me know if you need more.',
    ],
)
def test_fenced_json(text: str) -> None:
    assert label_of(text) == ("label", "ok", 0.6)


@pytest.mark.parametrize(
    "text",
    [
        'Sure. After careful review: {"label": "toxic", "confidence": 0.7}',
        '{"label": "toxic", "confidence": 0.7} -- the content insults the reader directly.',
        'Thinking {about it}, then {"label": "toxic", "confidence": 0.7} and done.',
        'The rubric says {"a": 1} is not a verdict; final: {"label": "toxic", "confidence": 0.7}',
    ],
)
def test_json_with_prose_before_and_after(text: str) -> None:
    assert label_of(text) == ("label", "toxic", 0.7)


def test_other_label_keys_are_read() -> None:
    assert label_of('{"verdict": "ok"}')[:2] == ("label", "ok")
    assert label_of('{"classification": "toxic"}')[:2] == ("label", "toxic")


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("TOXIC", "toxic"),
        ("Ok", "ok"),
        ("Not Toxic", "ok"),
        ("not-toxic", "ok"),
        ("SAFE", "ok"),
        ("Non-Toxic", "ok"),
        ("abusive", "toxic"),
        ("  toxic  ", "toxic"),
    ],
)
def test_label_synonyms_case_insensitive(raw: str, expected: str) -> None:
    assert label_of(f'{{"label": "{raw}"}}', SYNONYMS)[:2] == ("label", expected)


def test_synonyms_only_when_configured() -> None:
    assert label_of('{"label": "safe"}')[0] == "parse_error"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("toxic", "toxic"),
        ("OK", "ok"),
        ("Toxic.", "toxic"),
        ("`ok`", "ok"),
        ('"toxic"', "toxic"),
        ("  ok\n", "ok"),
        ("not toxic", "ok"),
    ],
)
def test_bare_label_word(text: str, expected: str) -> None:
    assert label_of(text, SYNONYMS) == ("label", expected, None)


def test_label_mentioned_in_prose_is_not_a_verdict() -> None:
    assert label_of("I think this could be toxic or ok, hard to say")[0] == "parse_error"


def test_unknown_label_is_parse_error_with_detail() -> None:
    verdict = parse_text('{"label": "spam", "confidence": 0.9}', LABELS)
    assert verdict.outcome is Outcome.PARSE_ERROR and verdict.label is None
    assert "spam" in (verdict.detail or "") and verdict.display == "parse_error"


@pytest.mark.parametrize("text", ["", "   \n", "{}", '{"confidence": 0.9}', "{not json", "maybe"])
def test_no_verdict_is_parse_error(text: str) -> None:
    verdict = parse_text(text, LABELS)
    assert verdict.outcome is Outcome.PARSE_ERROR and verdict.label is None


def test_empty_reply_detail() -> None:
    assert parse_text("", LABELS).detail == "empty reply"
    assert parse_reply(Reply(text=None, finish_reason="stop"), LABELS).outcome is Outcome.PARSE_ERROR


# ------------------------------------------------------------------ confidence
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0.8", 0.8),
        ('"85%"', 0.85),
        ("85", 0.85),
        ('"85"', 0.85),
        ("1", 1.0),
        ("0", 0.0),
        ("100", 1.0),
        ('" 0.5 "', 0.5),
        ('"85 %"', 0.85),
        ('"0.5%"', 0.005),
        ('"100%"', 1.0),
    ],
)
def test_confidence_forms(raw: str, expected: float | None) -> None:
    verdict = parse_text(f'{{"label": "toxic", "confidence": {raw}}}', LABELS)
    assert verdict.outcome is Outcome.LABEL
    assert verdict.confidence == pytest.approx(expected) if expected is not None else verdict.confidence is None


@pytest.mark.parametrize("raw", ["150", "-0.5", "1000", '"high"', "true", "null", "[0.5]", '"NaN"', '"inf"'])
def test_confidence_out_of_range_or_invalid_is_dropped_but_label_kept(raw: str) -> None:
    verdict = parse_text(f'{{"label": "toxic", "confidence": {raw}}}', LABELS)
    assert (verdict.outcome, verdict.label, verdict.confidence) == (Outcome.LABEL, "toxic", None)


def test_confidence_helper() -> None:
    assert confidence(None) is None and confidence(True) is None and confidence(0.25) == 0.25


# ------------------------------------------------------------------ typed non-verdicts
@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with classifying this content.",
        "I cannot assist with that request.",
        "Sorry, I won't do that.",
        "I am unable to comply.",
        "As an AI, I must refrain.",
    ],
)
def test_refusal_text(text: str) -> None:
    verdict = parse_text(text, LABELS)
    assert verdict.outcome is Outcome.REFUSAL and verdict.label is None and verdict.display == "refusal"


def test_json_verdict_wins_over_apologetic_prose() -> None:
    assert label_of('I\'m sorry to say it: {"label": "toxic"}')[:2] == ("label", "toxic")


@pytest.mark.parametrize("reason", ["length", "max_tokens", "max_output_tokens"])
def test_truncated_finish_reason(reason: str) -> None:
    verdict = parse_reply(Reply(text='{"label": "toxic", "rationale": "cut off mid', finish_reason=reason), LABELS)
    assert verdict.outcome is Outcome.TRUNCATED and verdict.label is None and reason in (verdict.detail or "")


def test_truncated_even_when_a_label_is_readable() -> None:
    """A cut reply is never counted as a label: the model did not finish its answer."""
    verdict = parse_reply(Reply(text='{"label": "toxic"}', finish_reason="length"), LABELS)
    assert verdict.outcome is Outcome.TRUNCATED


def test_openai_message_refusal() -> None:
    verdict = parse_reply(Reply(text=None, refusal="I can't help with that.", finish_reason="stop"), LABELS)
    assert verdict.outcome is Outcome.REFUSAL and verdict.detail == "I can't help with that."


@pytest.mark.parametrize("reason", ["content_filter", "refusal"])
def test_refusal_finish_reason(reason: str) -> None:
    assert parse_reply(Reply(text="", finish_reason=reason), LABELS).outcome is Outcome.REFUSAL


@pytest.mark.parametrize(
    "error_type", ["rate_limit", "server", "timeout", "connection", "auth", "bad_request", "bad_response"]
)
def test_provider_error_keeps_its_type(error_type: str) -> None:
    verdict = parse_reply(Reply(error_type=error_type, error="boom"), LABELS)
    assert (verdict.outcome, verdict.error_type, verdict.detail, verdict.label) == (
        Outcome.ERROR,
        error_type,
        "boom",
        None,
    )
    assert verdict.display == "error"


def test_error_wins_over_any_text() -> None:
    verdict = parse_reply(Reply(text='{"label": "toxic"}', error_type=ErrorType.SERVER, error="500"), LABELS)
    assert verdict.outcome is Outcome.ERROR


def test_stop_reply_is_parsed() -> None:
    verdict = parse_reply(
        Reply(text='```json\n{"label": "OK", "confidence": "90%"}\n```', finish_reason="end_turn"), LABELS
    )
    assert (verdict.outcome, verdict.label, verdict.confidence) == (Outcome.LABEL, "ok", 0.9)


# ------------------------------------------------------------------ the final answer wins (issue 11)
@pytest.mark.parametrize(
    "text, expected",
    [
        ('<think>draft: {"label": "ok"}</think>{"label": "toxic"}', "toxic"),  # Qwen3 / R1 through Ollama, LM Studio
        ('<think>\nmaybe ok\n</think>\n\n```json\n{"label": "toxic", "confidence": 0.9}\n```', "toxic"),
        ('the user says... {"label": "ok"} no wait.\n</think>\n{"label": "toxic"}', "toxic"),  # R1: only the close
        ('<think>a</think>x<think>{"label": "ok"}</think>{"label": "toxic"}', "toxic"),
        (
            '<|channel|>analysis<|message|>It could be {"label": "ok"}.<|end|><|start|>assistant<|channel|>final'
            '<|message|>{"label": "toxic"}<|return|>',
            "toxic",
        ),  # gpt-oss harmony from llama.cpp
        (
            '<|channel|>analysis<|message|>{"label": "ok"}<|end|><|start|>assistant<|channel|>final <|constrain|>json'
            '<|message|>{"label": "toxic"}',
            "toxic",
        ),
        (
            'analysisThe user insults. {"label": "ok"} is wrong.assistantfinal{"label": "toxic"}',
            "toxic",
        ),  # tokens dropped
        ("<think>It is an insult, so toxic.</think>\n\nok", "ok"),  # a bare label word after </think>
        ("<think>\nhmm\n</think>\n**Toxic**", "toxic"),
        ('Draft: {"label": "ok"}. Final answer: {"label": "toxic", "confidence": 0.8}', "toxic"),  # several: the last
    ],
)
def test_reasoning_is_never_the_verdict(text: str, expected: str) -> None:
    verdict = parse_reply(Reply(text=text, finish_reason="stop"), LABELS)
    assert (verdict.outcome, verdict.label) == (Outcome.LABEL, expected), verdict


@pytest.mark.parametrize(
    "text",
    [
        '<think>{"label": "toxic"} ... and then the reasoning ran out',
        '<|channel|>analysis<|message|>{"label": "toxic"} thinking<|end|>',
    ],
)
def test_reasoning_only_is_a_parse_error(text: str) -> None:
    verdict = parse_reply(Reply(text=text, finish_reason="stop"), LABELS)
    assert verdict.outcome is Outcome.PARSE_ERROR and "only reasoning" in (verdict.detail or "")


def test_nested_verdict_is_found_and_outer_wins() -> None:
    assert label_of('{"result": {"label": "toxic"}}')[:2] == ("label", "toxic")
    verdict = parse_text('{"label": "ok", "examples": [{"label": "toxic"}]}', LABELS)
    assert verdict.label == "ok"


def test_context_window_exceeded_is_truncated() -> None:
    verdict = parse_reply(Reply(text="", finish_reason="model_context_window_exceeded"), LABELS)
    assert verdict.outcome is Outcome.TRUNCATED


# ------------------------------------------------------------------ verdicts cite rules (issue 14.1)
@pytest.mark.parametrize(
    "obj, rules",
    [
        ({"rules": ["insult", "threat"]}, ("insult", "threat")),
        ({"rules": "insult"}, ("insult",)),
        ({"rule_ids": ["R1", 7]}, ("R1", "7")),
        ({"policy_category": "H2.f"}, ("H2.f",)),
        ({"policy_category": None, "rules": []}, ()),
        ({"policy_category": "none", "rules": ["insult", "insult", " "]}, ("insult",)),
        ({"rules": [{"name": "x"}, True, "threat"]}, ("threat",)),
    ],
)
def test_json_verdict_cites_rules(obj: dict, rules: tuple[str, ...]) -> None:
    import json

    verdict = parse_text(json.dumps({"label": "toxic", **obj}), LABELS)
    assert verdict.outcome is Outcome.LABEL and verdict.rules == rules


def test_unknown_rules_are_kept_and_flagged() -> None:
    from modtui.replay.parsing import unknown_rules

    assert unknown_rules(("insult", "made_up", "quoting"), frozenset({"insult", "threat", "quoting"})) == ("made_up",)


# ------------------------------------------------------------------ guard models' own formats
def guard(fmt: str, **extra: object):  # type: ignore[no-untyped-def]
    from modtui.domain.prompt import OutputFormat

    return OutputFormat.model_validate({"format": fmt, "unsafe_label": "toxic", "safe_label": "ok", **extra})


@pytest.mark.parametrize(
    "text, label, rules",
    [
        ("\n\nsafe", "ok", ()),
        ("unsafe\nS1,S10", "toxic", ("S1", "hate")),
        ("unsafe\nS10, S2\n", "toxic", ("hate", "S2")),
        ("unsafe", "toxic", ()),
        ("<think>is it unsafe?</think>safe", "ok", ()),
    ],
)
def test_llama_guard(text: str, label: str, rules: tuple[str, ...]) -> None:
    verdict = parse_reply(
        Reply(text=text, finish_reason="stop"), LABELS, output=guard("llama_guard", categories={"S10": "hate"})
    )
    assert (verdict.outcome, verdict.label, verdict.rules) == (Outcome.LABEL, label, rules)


@pytest.mark.parametrize(
    "text, label, rules",
    [
        ("Yes", "toxic", ("harassment",)),
        ("No", "ok", ()),
        ("no.", "ok", ()),
        ("Yes. The post attacks a person.", "toxic", ("harassment",)),
    ],
)
def test_shieldgemma(text: str, label: str, rules: tuple[str, ...]) -> None:
    output = guard("shieldgemma", categories={"Harassment": "harassment"})
    verdict = parse_reply(Reply(text=text, finish_reason="stop"), LABELS, output=output)
    assert (verdict.outcome, verdict.label, verdict.rules) == (Outcome.LABEL, label, rules)


@pytest.mark.parametrize(
    "fmt, text",
    [
        ("llama_guard", "I think it is fine"),
        ("shieldgemma", "Maybe"),
        ("llama_guard", ""),
        ("gpt_oss_safeguard", "no json here"),
    ],
)
def test_guard_answers_in_another_shape_are_parse_errors(fmt: str, text: str) -> None:
    verdict = parse_reply(Reply(text=text, finish_reason="stop"), LABELS, output=guard(fmt))
    assert verdict.outcome is Outcome.PARSE_ERROR and verdict.label is None


@pytest.mark.parametrize(
    "final, label, rules",
    [
        ('{"violation": 1, "policy_category": "H2.f", "rule_ids": ["H2.f", "H3"]}', "toxic", ("hate", "H3")),
        ('{"violation": 0, "policy_category": null}', "ok", ()),
        (
            '{"violation": "1", "category": "harassment"}',
            "toxic",
            (),
        ),  # a category that is not a label: the flag decides
        ('{"label": "ok"}', "ok", ()),
    ],
)
def test_gpt_oss_safeguard(final: str, label: str, rules: tuple[str, ...]) -> None:
    text = (
        '<|channel|>analysis<|message|>Policy H2: {"violation": 0} would be wrong here.<|end|>'
        f"<|start|>assistant<|channel|>final<|message|>{final}<|return|>"
    )
    output = guard("gpt_oss_safeguard", categories={"H2.f": "hate"})
    verdict = parse_reply(Reply(text=text, finish_reason="stop"), LABELS, output=output)
    assert (verdict.outcome, verdict.label, verdict.rules) == (Outcome.LABEL, label, rules)
