"""Turn a model's reply into a verdict: tolerant of fences, prose and reasoning, strict about labels.

The final answer wins: reasoning segments are set aside first (replay.reasoning), and when the answer holds
several JSON verdicts the last one is the verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence

from modtui.domain.prompt import OutputFormat
from modtui.domain.verdict import ErrorType, Outcome, Verdict
from modtui.providers.base import Reply
from modtui.replay.guards import GUARD_FORMATS, guard_verdict
from modtui.replay.reasoning import final_answer

TRUNCATED_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"})
REFUSAL_REASONS = frozenset({"content_filter", "refusal"})
_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|sorry,|i (?:can(?:no|')t|cannot|won'?t|am unable|'m unable|am not able)|"
    r"i must decline|as an ai)",
    re.IGNORECASE,
)
LABEL_KEYS = ("label", "verdict", "classification", "decision", "category")
RULE_KEYS = ("rules", "rule_ids", "policy_category")
_NO_RULE = frozenset({"", "none", "null", "n/a", "na"})
_BARE_STRIP = "`'\".*_ \n\t"  # quotes, code ticks and Markdown emphasis around a bare label word
_DEFAULT_OUTPUT = OutputFormat()


def parse_reply(
    reply: Reply,
    labels: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
    output: OutputFormat | None = None,
) -> Verdict:
    if reply.verdict is not None:
        return reply.verdict
    if reply.error_type is not None:  # ErrorType(): an adapter's plain string becomes the enum (or fails loudly)
        return Verdict(Outcome.ERROR, error_type=ErrorType(reply.error_type), detail=reply.error)
    if reply.refusal:
        return Verdict(Outcome.REFUSAL, detail=reply.refusal)
    if (reply.finish_reason or "") in TRUNCATED_REASONS:
        return Verdict(Outcome.TRUNCATED, detail=f"finish reason {reply.finish_reason}")
    if (reply.finish_reason or "") in REFUSAL_REASONS:
        return Verdict(Outcome.REFUSAL, detail=f"finish reason {reply.finish_reason}")
    text = reply.text or ""
    answer = final_answer(text)
    if not answer.strip() and text.strip():
        return Verdict(Outcome.PARSE_ERROR, detail="the reply holds only reasoning, no final answer")
    output = output or _DEFAULT_OUTPUT
    if output.format in GUARD_FORMATS:
        return guard_verdict(answer, output, labels)
    return parse_text(answer, labels, synonyms, output)


def parse_text(
    text: str,
    labels: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
    output: OutputFormat | None = None,
) -> Verdict:
    lookup = label_lookup(labels, synonyms)
    output = output or _DEFAULT_OUTPUT
    verdicts = [(obj, raw) for obj in json_objects(text) if (raw := raw_label(obj, output, labels, lookup)) is not None]
    if verdicts:
        obj, raw = verdicts[-1]  # the final answer wins over drafts and examples before it
        label = lookup.get(_fold(raw))
        if label is None:
            return Verdict(Outcome.PARSE_ERROR, detail=f"label '{raw}' is not one of {list(labels)}")
        return Verdict(
            Outcome.LABEL,
            label,
            confidence(obj.get("confidence")),
            _rationale(obj),
            rules=cited_rules(obj, output.categories),
        )
    bare = lookup.get(_fold(text.strip(_BARE_STRIP + ".")))
    if bare is not None:
        return Verdict(Outcome.LABEL, bare)
    if _REFUSAL.search(text):
        return Verdict(Outcome.REFUSAL, detail="the model declined")
    return Verdict(Outcome.PARSE_ERROR, detail="no JSON verdict with a label found" if text.strip() else "empty reply")


def raw_label(obj: dict, output: OutputFormat, labels: Sequence[str], lookup: Mapping[str, str]) -> str | None:
    """The label an object gives: a LABEL_KEYS string that is a label, else a `violation` flag (0/1, true/false;
    gpt-oss-safeguard's verdict) read as the prompt's unsafe or safe label, else the first LABEL_KEYS string
    (an unknown label: a parse error that names it); None when the object gives no verdict."""
    given = [obj[k] for k in LABEL_KEYS if isinstance(obj.get(k), str)]
    known = next((value for value in given if _fold(value) in lookup), None)
    if known is not None:
        return known
    flag = _flag(obj.get("violation"))
    if flag is not None:
        unsafe = output.unsafe_label or labels[0]
        safe = output.safe_label or next(label for label in labels if label != unsafe)
        return unsafe if flag else safe
    return given[0] if given else None


def _flag(value: object) -> bool | None:
    if isinstance(value, str):
        value = {"0": False, "1": True, "true": True, "false": False}.get(value.strip().lower())
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    return None


def cited_rules(obj: dict, categories: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The rule names a JSON verdict cites (`rules`, `rule_ids`, `policy_category`: a name or a list of names),
    each mapped through the prompt's guard `categories`; in order, once each."""
    names: list[str] = []
    for key in RULE_KEYS:
        value = obj.get(key)
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, (str, int)) and not isinstance(entry, bool):
                names.append(str(entry).strip())
    return unique_names((categories or {}).get(name, name) for name in names if name.casefold() not in _NO_RULE)


def unique_names(names: Iterator[str] | Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def unknown_rules(cited: Sequence[str], vocabulary: frozenset[str]) -> tuple[str, ...]:
    """The cited names that are not in the prompt's rule vocabulary: kept in the result, and flagged."""
    return tuple(name for name in cited if name not in vocabulary)


def label_lookup(labels: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    table = {_fold(label): label for label in labels}
    for label, words in (synonyms or {}).items():
        for word in words:
            table.setdefault(_fold(word), label)
    return table


def json_objects(text: str) -> Iterator[dict]:
    """The outermost JSON objects in the text, in order (fenced or not): an object that is found is skipped whole,
    an object that does not decode is searched inside."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj, end = None, start + 1
        if isinstance(obj, dict):
            yield obj
            if not any(key in obj for key in LABEL_KEYS + ("violation",)):
                end = start + 1  # not a verdict: one may be nested inside it
        start = text.find("{", max(end, start + 1))


def confidence(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        return None
    if percent or 1 < number <= 100:  # "85%" and a bare 85 are percentages; "0.5%" is 0.005, not 0.5
        number /= 100
    return number if 0 <= number <= 1 else None


def _rationale(obj: dict) -> str | None:
    value = obj.get("rationale", obj.get("reason", obj.get("explanation")))
    return str(value) if value is not None else None


def _fold(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().casefold())
