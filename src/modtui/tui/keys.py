"""The keys of a screen as the help and the command palette list them: modtui's own bindings, not Textual's
scrolling and focus plumbing (those have no id). One entry per action, the focused widget's first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


@dataclass(frozen=True)
class Key:
    key: str  # as displayed: "r", "^s", "/"
    description: str  # the short label (footer)
    help: str  # the longer text (palette, help)
    node: DOMNode  # where the action runs
    binding: Binding


def screen_keys(app: App[Any], screen: Screen[Any]) -> list[Key]:
    keys: dict[str, Key] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.id is None or binding.system or binding.action in keys:
            continue
        display = binding.key_display or app.get_key_display(binding)
        keys[binding.action] = Key(
            display, binding.description, binding.tooltip or binding.description, active.node, binding
        )
    return list(keys.values())
