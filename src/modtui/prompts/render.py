"""Render a prompt for one item. Content is a value; tags the template uses cannot be closed by it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from collections.abc import Mapping
from typing import Any

from modtui.domain.prompt import PromptTemplate
from modtui.policy.render import render_policy
from modtui.prompts.templating import compile_template, render_limited

MAX_CONTENT_CHARS = 100_000
TRUNCATION_NOTE = "[… content truncated by modtui: {kept} of {total} characters kept]"
_TAG = re.compile(r"</?\s*([A-Za-z][\w:-]*)[^<>]*>")


@dataclass(frozen=True, slots=True)
class Messages:
    system: str
    user: str
    truncated: bool = False

    def as_list(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system.strip() else []
        return out + [{"role": "user", "content": self.user}]


@lru_cache(maxsize=128)
def template_tags(source: str) -> tuple[str, ...]:
    """Tag names the template itself uses as delimiters, e.g. ('content',) for <content>…</content>."""
    return tuple(sorted({m.group(1).lower() for m in _TAG.finditer(source)}))


def neutralise(value: str, tags: tuple[str, ...]) -> str:
    """Make `<tag` / `</tag` of the template's own delimiters inert inside untrusted text."""
    if not tags:
        return value
    pattern = re.compile(r"<(\s*/?\s*(?:" + "|".join(map(re.escape, tags)) + r")\b)", re.IGNORECASE)
    return pattern.sub(r"&lt;\1", value)


class ItemMeta(dict[str, Any]):
    """An item's meta: a key some items lack renders empty instead of failing that item's render."""

    def __missing__(self, key: object) -> str:
        return ""


def clip(content: str, limit: int = MAX_CONTENT_CHARS) -> tuple[str, bool]:
    if len(content) <= limit:
        return content, False
    return content[:limit] + "\n" + TRUNCATION_NOTE.format(kept=limit, total=len(content)), True


def render(
    template: PromptTemplate,
    content: str,
    *,
    item_id: str = "",
    meta: Mapping[str, Any] | None = None,
    precedents: str = "",
) -> Messages:
    tags = template_tags(template.system + "\n" + template.user)
    clipped, truncated = clip(content)
    values = {
        "content": neutralise(clipped, tags),
        "item_id": neutralise(item_id, tags),
        "meta": ItemMeta({k: neutralise(str(v), tags) for k, v in (meta or {}).items()}),
        "labels": ", ".join(template.labels),
        "policy": render_policy(template.policy, template.labels, positive_label=template.positive_label)
        if template.policy
        else "",
        "precedents": neutralise(precedents, tags),
    }
    system = render_limited(compile_template(template.system), values) if template.system else ""
    user = render_limited(compile_template(template.user), values)
    return Messages(system.strip("\n"), user.strip("\n"), truncated)
