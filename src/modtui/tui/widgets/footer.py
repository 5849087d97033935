"""The footer every modtui screen docks: Textual's, with the app's own keys (quit, help) first.

A footer cuts what does not fit on the right; at 80 columns a screen's keys would push `q Quit`
and `? Help` off the edge, and those are the two a newcomer looks for.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.compose import compose
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST = ("quit", "help")  # the app's actions, in this order
NARROW = 100  # below this many columns the keys are drawn closer together


class KeysFooter(Footer):
    def on_mount(self) -> None:
        self.compact = self.app.size.width < NARROW

    def on_resize(self) -> None:
        self.compact = self.app.size.width < NARROW

    def compose(self) -> ComposeResult:
        nodes = compose(self, super().compose())  # groups come back whole, with their keys inside
        first = sorted(
            (n for n in nodes if isinstance(n, FooterKey) and n.action in FIRST), key=lambda n: FIRST.index(n.action)
        )
        yield from first
        yield from (n for n in nodes if n not in first)
