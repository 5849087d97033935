"""Baseline (read-only) and candidate (editable) prompts side by side, changed lines highlighted; a diff view."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Offset
from textual.message import Message
from textual.widgets import Label, Static, TextArea

from modtui.prompts.diff import changed_lines, unified
from modtui.tui.text import cell
from modtui.tui.widgets.tables import Reader

REMOVED = Style(bgcolor="#4a1f24")
ADDED = Style(bgcolor="#1f4a2a")


def yaml_language() -> str | None:
    """ "yaml" when tree-sitter and its YAML grammar are installed (textual[syntax], a dependency); else plain text."""
    return "yaml" if find_spec("tree_sitter") and find_spec("tree_sitter_yaml") else None


class DiffTextArea(TextArea):
    """A TextArea whose lines in `changed` get a background (the other side of the diff is not its job).

    An editable one moves focus on tab until the user types in it; from then on tab indents, until
    escape (or leaving it) ends the typing.
    """

    def __init__(self, text: str, *, changed_style: Style, soft_wrap: bool = True, **kwargs: Any) -> None:
        super().__init__(
            text, language=yaml_language(), show_line_numbers=True, soft_wrap=soft_wrap, tab_behavior="focus", **kwargs
        )
        self.changed_style = changed_style
        self.changed: frozenset[int] = frozenset()

    @property
    def typing(self) -> bool:
        return self.tab_behavior == "indent"

    def _set_typing(self, typing: bool) -> None:
        if typing != self.typing:
            self.tab_behavior = "indent" if typing else "focus"
            self.screen.refresh_bindings()  # tab (and escape) change meaning: the footer follows

    def _on_key(self, event: events.Key) -> None:  # type: ignore[override]  # Textual calls it sync or async
        """Runs before TextArea's own key handler (Textual calls each class's in turn)."""
        if not self.read_only:
            if event.key == "escape":
                self._set_typing(False)  # TextArea's own escape would move the focus; the screen decides
            elif event.is_printable or event.key in ("enter", "backspace", "delete"):
                self._set_typing(True)

    def on_blur(self) -> None:
        self._set_typing(False)

    def top_line(self) -> int:
        """The document line at the top of the view (wrapped or not)."""
        return self.wrapped_document.offset_to_location(Offset(0, round(self.scroll_y)))[0]

    def show_line_at_top(self, line: int) -> None:
        line = max(0, min(line, self.document.line_count - 1))
        self.scroll_to(y=self.wrapped_document.location_to_offset((line, 0)).y, animate=False)

    def mark(self, lines: frozenset[int]) -> None:
        if lines != self.changed:
            self.changed = lines
            self._line_cache.clear()
            self.refresh()

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        if line_index in self.changed:
            line.stylize(self.changed_style)
        return line


class PromptEditors(Vertical):
    """Posts `CandidateChanged` when the candidate's text changes; never writes a file.

    The candidate starts from a prompt file (`source`, e.g. the policy's candidate.yaml) or, without
    one, as a copy of the baseline; its title says which, and whether it was edited since.
    """

    class CandidateChanged(Message):
        def __init__(self, text: str, changed: int) -> None:
            super().__init__()
            self.text = text
            self.changed = changed

    def __init__(
        self, baseline_path: str, baseline: str, candidate: tuple[str, str] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.baseline_path = baseline_path
        self.baseline = baseline
        self.source: tuple[str, str] | None = candidate  # (path, text) the candidate was loaded from
        self.diff_mode = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="editors"):
            with Vertical(classes="editor-pane"):
                yield Label(
                    f"baseline · {self.baseline_path} · read-only · d diff, w wrap, o open, ctrl+s save",
                    classes="pane-title",
                    markup=False,
                )
                yield DiffTextArea(self.baseline, changed_style=REMOVED, read_only=True, id="baseline")
            with Vertical(classes="editor-pane"):
                yield Label("candidate", id="candidate-title", classes="pane-title", markup=False)
                yield DiffTextArea(
                    self.source[1] if self.source else self.baseline, changed_style=ADDED, id="candidate"
                )
        with Reader(id="diff-view"):  # read by scrolling, with the keys of the item detail and the pager
            yield Static(id="diff-text")

    def on_mount(self) -> None:
        self.query_one("#diff-view").display = False
        baseline, candidate = self.query_one("#baseline", DiffTextArea), self.query_one("#candidate", DiffTextArea)
        self._syncing = False
        self.watch(baseline, "scroll_y", lambda: self._scroll_with(baseline, candidate), init=False)
        self.watch(candidate, "scroll_y", lambda: self._scroll_with(candidate, baseline), init=False)
        self.watch(baseline, "scroll_x", lambda: self._scroll_with(baseline, candidate), init=False)
        self.watch(candidate, "scroll_x", lambda: self._scroll_with(candidate, baseline), init=False)
        self._refresh_diff()

    def _scroll_with(self, leader: DiffTextArea, follower: DiffTextArea) -> None:
        """The two sides scroll together: the same document line at the top (also when wrapped)."""
        if self._syncing:
            return
        self._syncing = True
        try:
            if not follower.soft_wrap:
                follower.scroll_to(x=leader.scroll_x, animate=False)
            if follower.top_line() != leader.top_line():
                follower.show_line_at_top(leader.top_line())
        finally:
            self._syncing = False

    @property
    def soft_wrap(self) -> bool:
        return self.query_one("#candidate", DiffTextArea).soft_wrap

    def toggle_wrap(self) -> bool:
        """Soft-wrap long lines in both editors, or let them run on (then the two scroll sideways together)."""
        wrap = not self.soft_wrap
        for editor in self.query(DiffTextArea):
            editor.soft_wrap = wrap
        return wrap

    @property
    def candidate_text(self) -> str:
        return self.query_one("#candidate", DiffTextArea).text

    @property
    def edited(self) -> bool:
        """The candidate differs from the file it came from (or from the baseline it was copied from)."""
        return self.candidate_text != (self.source[1] if self.source else self.baseline)

    def set_candidate(self, text: str, source: str | None = None) -> None:
        """Replace the candidate; with `source`, the text is that prompt file's (a later save makes it the source)."""
        if source is not None:
            self.source = (source, text)
        editor = self.query_one("#candidate", DiffTextArea)
        editor.load_text(text)
        self._refresh_diff()

    @on(TextArea.Changed, "#candidate")
    def _candidate_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._refresh_diff()

    def _refresh_diff(self) -> None:
        text = self.candidate_text
        changes = changed_lines(self.baseline, text)
        self.query_one("#baseline", DiffTextArea).mark(changes.left)
        self.query_one("#candidate", DiffTextArea).mark(changes.right)
        origin = self.source[0] if self.source else "copy of the baseline"
        state = " · edited, unsaved" if self.edited else ""
        versus = f" · {len(changes.right)} lines differ from baseline" if changes.right else " · same as baseline"
        self.query_one("#candidate-title", Label).update(cell(f"candidate · {origin}{state}{versus}"))
        if self.diff_mode:
            self._render_diff()
        self.post_message(self.CandidateChanged(text, len(changes.right)))

    def toggle_diff(self) -> bool:
        self.diff_mode = not self.diff_mode
        self.query_one("#editors").display = not self.diff_mode
        self.query_one("#diff-view").display = self.diff_mode
        if self.diff_mode:
            self._render_diff()
            self.query_one("#diff-view").focus()
        else:  # the read-only side: keys keep their workbench meaning (q quits, not types) until you choose to edit
            self.query_one("#baseline").focus()
        return self.diff_mode

    def _render_diff(self) -> None:
        diff = unified(self.baseline, self.candidate_text, self.baseline_path, "candidate")
        out = Text()
        for line in diff.splitlines() or ["(no differences)"]:
            style = (
                "bold"
                if line.startswith(("+++", "---"))
                else "green"
                if line.startswith("+")
                else "red"
                if line.startswith("-")
                else "cyan"
                if line.startswith("@@")
                else ""
            )
            out.append(line + "\n", style=style)
        self.query_one("#diff-text", Static).update(out)
