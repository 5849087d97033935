"""What a run asks of its target per item: the prompt rendered for the item, and that request's cache key.

The engine and the read-only plan (`replay --dry-run`, forecasts) both render and key through here, so what a plan
says is cached is what a replay finds cached."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from modtui.domain.incident import Item
from modtui.domain.prompt import PromptTemplate
from modtui.domain.target import Target
from modtui.prompts.render import Messages, render
from modtui.replay.cachekey import cache_key

Context = Callable[[Item], Mapping[str, str]]  # extra template values per item (e.g. {"precedents": ...})


def render_item(template: PromptTemplate, item: Item, context: Context | None = None) -> Messages:
    extra = context(item) if context else {}
    return render(template, item.content, item_id=item.id, meta=item.meta, **extra)


def keyed_requests(
    target: Target,
    template: PromptTemplate,
    items: Iterable[Item],
    context: Context | None = None,
    *,
    target_key: str | None = None,
) -> list[tuple[str, Item, Messages]]:
    """(cache key, item, rendered messages) per item, in order. An item whose prompt does not render is left out:
    it makes no call and is never cached (the replay records the failure as that item's result)."""
    out = []
    for item in items:
        try:
            messages = render_item(template, item, context)
        except Exception:  # noqa: BLE001, S112 - the engine's worker renders it again and records why it failed
            continue
        out.append((cache_key(target, messages, template.output_schema, target_key=target_key), item, messages))
    return out
