"""Moderation models' own answer formats, read as verdicts with the categories they name as the rules cited.

Llama Guard 3/4: `safe`, or `unsafe` then a line of category codes (`S1,S10`). ShieldGemma: `Yes` (the content
violates the one policy the prompt states) or `No`, perhaps followed by an explanation. gpt-oss-safeguard: reasoning
(set aside before this is called), then a JSON verdict `{"violation": 1, "policy_category": "..."}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from modtui.domain.prompt import OutputFormat
from modtui.domain.verdict import Outcome, Verdict

GUARD_FORMATS = frozenset({"llama_guard", "shieldgemma", "gpt_oss_safeguard"})
_CODES = re.compile(r"[,\s]+")
_FIRST_WORD = re.compile(r"^\W*(\w+)")


def guard_verdict(answer: str, output: OutputFormat, labels: Sequence[str]) -> Verdict:
    unsafe = output.unsafe_label or labels[0]
    safe = output.safe_label or next(label for label in labels if label != unsafe)
    if output.format == "llama_guard":
        return _llama_guard(answer, output, unsafe, safe)
    if output.format == "shieldgemma":
        return _shieldgemma(answer, output, unsafe, safe)
    from modtui.replay.parsing import parse_text  # gpt_oss_safeguard: a JSON verdict after the reasoning

    return parse_text(answer, labels, None, output)


def _llama_guard(answer: str, output: OutputFormat, unsafe: str, safe: str) -> Verdict:
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    first = lines[0].casefold().rstrip(".") if lines else ""
    if first == "safe":
        return Verdict(Outcome.LABEL, safe)
    if first == "unsafe":
        codes = [code for code in _CODES.split(lines[1]) if code] if len(lines) > 1 else []
        return Verdict(Outcome.LABEL, unsafe, rules=_named(codes, output))
    shown = answer.strip()[:80] or "an empty reply"
    return Verdict(Outcome.PARSE_ERROR, detail=f"not a Llama Guard answer ('safe' or 'unsafe' first): {shown!r}")


def _shieldgemma(answer: str, output: OutputFormat, unsafe: str, safe: str) -> Verdict:
    word = _FIRST_WORD.match(answer)
    said = word.group(1).casefold() if word else ""
    if said == "yes":
        return Verdict(Outcome.LABEL, unsafe, rules=tuple(dict.fromkeys(output.categories.values())))
    if said == "no":
        return Verdict(Outcome.LABEL, safe)
    shown = answer.strip()[:80] or "an empty reply"
    return Verdict(Outcome.PARSE_ERROR, detail=f"not a ShieldGemma answer ('Yes' or 'No' first): {shown!r}")


def _named(codes: Sequence[str], output: OutputFormat) -> tuple[str, ...]:
    return tuple(dict.fromkeys(output.categories.get(code, code) for code in codes))
