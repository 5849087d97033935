"""Turn a model's reply into a verdict: tolerant of fences and prose, strict about labels."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence

from modtui.domain.verdict import Outcome, Verdict
from modtui.providers.base import Reply

TRUNCATED_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})
REFUSAL_REASONS = frozenset({"content_filter", "refusal"})
_REFUSAL = re.compile(r"^\s*(i'?m sorry|sorry,|i (?:can(?:no|')t|cannot|won'?t|am unable|'m unable|am not able)|"
                      r"i must decline|as an ai)", re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
LABEL_KEYS = ("label", "verdict", "classification", "decision", "category")


def parse_reply(reply: Reply, labels: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None = None) -> Verdict:
    if reply.verdict is not None:
        return reply.verdict
    if reply.failed:
        return Verdict(Outcome.ERROR, error_type=reply.error_type, detail=reply.error)
    if reply.refusal:
        return Verdict(Outcome.REFUSAL, detail=reply.refusal)
    if (reply.finish_reason or "") in TRUNCATED_REASONS:
        return Verdict(Outcome.TRUNCATED, detail=f"finish reason {reply.finish_reason}")
    if (reply.finish_reason or "") in REFUSAL_REASONS:
        return Verdict(Outcome.REFUSAL, detail=f"finish reason {reply.finish_reason}")
    return parse_text(reply.text or "", labels, synonyms)


def parse_text(text: str, labels: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None = None) -> Verdict:
    lookup = label_lookup(labels, synonyms)
    for obj in json_objects(text):
        raw_label = next((obj[k] for k in LABEL_KEYS if isinstance(obj.get(k), str)), None)
        if raw_label is None:
            continue
        label = lookup.get(_fold(raw_label))
        if label is None:
            return Verdict(Outcome.PARSE_ERROR, detail=f"label '{raw_label}' is not one of {list(labels)}")
        return Verdict(Outcome.LABEL, label, confidence(obj.get("confidence")), _rationale(obj))
    bare = lookup.get(_fold(text.strip().strip("`'\".").strip()))
    if bare is not None:
        return Verdict(Outcome.LABEL, bare)
    if _REFUSAL.search(text):
        return Verdict(Outcome.REFUSAL, detail="the model declined")
    return Verdict(Outcome.PARSE_ERROR, detail="no JSON verdict with a label found" if text.strip() else "empty reply")


def label_lookup(labels: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    table = {_fold(label): label for label in labels}
    for label, words in (synonyms or {}).items():
        for word in words:
            table.setdefault(_fold(word), label)
    return table


def json_objects(text: str) -> Iterator[dict]:
    """JSON objects found in fenced blocks first, then anywhere in the text (balanced braces)."""
    chunks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for chunk in chunks:
        start = chunk.find("{")
        while start != -1:
            try:
                obj, _ = decoder.raw_decode(chunk, start)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                yield obj
            start = chunk.find("{", start + 1)


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
