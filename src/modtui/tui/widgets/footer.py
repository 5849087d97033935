"""The footer every modtui screen docks: Textual's, with the app's own keys (quit, help) first.

A footer cuts what does not fit on the right; at 80 columns a screen's keys would push `q Quit`
and `? Help` off the edge, and those are the two a newcomer looks for.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from textual.app import ComposeResult
from textual.compose import compose
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST = ("quit", "help")  # the app's actions, in this order
NARROW = 100  # below this many columns the keys are drawn closer together


class KeysFooter(Footer):
    _shown: Hashable = None  # the keys the footer was last composed with

    def on_mount(self) -> None:
        self.compact = self.app.size.width < NARROW

    def on_resize(self) -> None:
        self.compact = self.app.size.width < NARROW

    async def recompose(self) -> None:
        """Textual recomposes a footer whenever its screen's keys may have changed: each focus move, each screen
        shown. The keys are made again only when the ones to show differ from those shown."""
        if not self.is_attached or self._shown is None or self._keys_to_show() != self._shown:
            await super().recompose()

    def _keys_to_show(self) -> Hashable:
        """What Footer.compose draws: the shown bindings in order, and the command palette's key."""
        active = self.screen.active_bindings
        shown = tuple((key, b.binding, b.enabled, b.tooltip) for key, b in active.items() if b.binding.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is None or not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return shown, None
        return shown, (palette.binding, palette.enabled, palette.tooltip)

    def compose(self) -> ComposeResult:
        self._shown = self._keys_to_show() if self._bindings_ready else None
        nodes = compose(self, self._styled_keys(super().compose()))  # groups come back whole, with their keys inside
        first = sorted(
            (n for n in nodes if isinstance(n, FooterKey) and n.action in FIRST), key=lambda n: FIRST.index(n.action)
        )
        yield from first
        yield from (n for n in nodes if n not in first)

    def _styled_keys(self, widgets: ComposeResult) -> Iterator[Widget]:
        """Each key bound to the footer's `compact` (Textual's `data_bind`) made with that value already set. A new
        FooterKey starts compact and takes the footer's value once mounted: its styles were worked out twice.
        The command palette's key is not bound and stays compact, as in Textual."""
        for widget in widgets:
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget
