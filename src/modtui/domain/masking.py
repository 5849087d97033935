"""Reviewer wellbeing: which items' content is hidden until a person asks to see it.

The rule, in one place for the TUI and the report. An item is masked when either
  * the incident's severity is at or above the workspace's `mask_severity_at_or_above`
    ("SEV2" masks SEV1 and SEV2 incidents: SEV1 is the most severe), or
  * the item's `meta` carries one of `mask_meta_tags`, either as a key with a truthy value
    (`{"graphic": true}`) or inside a `tags` list (`{"tags": ["graphic"]}`; a single string counts as a
    one-tag list). Tags match ignoring case.
Nothing is masked when neither setting is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SEVERITY_RANK = {"SEV1": 1, "SEV2": 2, "SEV3": 3, "SEV4": 4}
MASKED_TEXT = "[masked]"


@dataclass(frozen=True)
class MaskRule:
    severity_at_or_above: str | None = None
    meta_tags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, severity_at_or_above: str | None, meta_tags: Iterable[str]) -> "MaskRule":
        return cls(
            severity_at_or_above.upper() if severity_at_or_above else None, frozenset(t.lower() for t in meta_tags)
        )


def mask_reason(rule: MaskRule, severity: str, meta: Mapping[str, Any]) -> str | None:
    """Why the item's content is masked ("SEV2 incident", "meta tag 'graphic'"), or None when it is shown."""
    limit = SEVERITY_RANK.get(rule.severity_at_or_above or "")
    rank = SEVERITY_RANK.get(severity.upper())
    if limit is not None and rank is not None and rank <= limit:
        return f"{severity.upper()} incident"
    tag = _matching_tag(rule.meta_tags, meta)
    return f"meta tag '{tag}'" if tag else None


def _matching_tag(tags: frozenset[str], meta: Mapping[str, Any]) -> str | None:
    if not tags:
        return None
    for key, value in meta.items():
        if str(key).lower() in tags and value:
            return str(key).lower()
    listed = meta.get("tags")
    listed = [listed] if isinstance(listed, str) else listed if isinstance(listed, (list, tuple)) else []
    return next((str(t).lower() for t in listed if str(t).lower() in tags), None)


def masked_text(reason: str) -> str:
    return f"{MASKED_TEXT} ({reason})"
