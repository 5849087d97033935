"""A prompt version is the hash of its normalised text: formatting and comments do not count."""

from __future__ import annotations

import hashlib
import json

from modtui.domain.prompt import PromptTemplate

# Fields added after prompt versions were first stored count only when a prompt sets them, so adding a
# field never re-versions every existing prompt (and its history).
ADDED_FIELDS = ("precedents", "output")


def normalised_text(template: PromptTemplate) -> str:
    """Canonical JSON of the prompt: sorted keys, LF line ends, no trailing spaces in templates."""
    data = template.model_dump(mode="json", exclude_defaults=False)
    for name in ADDED_FIELDS:
        if name not in template.model_fields_set:
            data.pop(name, None)
    return json.dumps(_strip(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def prompt_version(template: PromptTemplate) -> str:
    return hashlib.sha256(normalised_text(template).encode("utf-8")).hexdigest()[:12]


def _strip(value: object) -> object:
    if isinstance(value, str):
        lines = value.replace("\r\n", "\n").split("\n")
        return "\n".join(line.rstrip() for line in lines).strip("\n")
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
