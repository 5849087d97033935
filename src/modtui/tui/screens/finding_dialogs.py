"""Modal dialogs of the timeline: add a finding (prefilled with the workbench's evidence), resolve one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from modtui.tui.text import cell

_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class FindingDraft:
    """What the dialog starts with: the items selected or filtered in the workbench, the latest runs."""

    items: tuple[str, ...] = ()
    runs: tuple[int, ...] = ()


def finding_draft(
    shown: Sequence[str], selected: str | None, filtered: bool, columns: Sequence[object], limit: int = 200
) -> FindingDraft:
    """The workbench's evidence: the items a filter or search shows (else the highlighted one), and the
    latest run of each target × prompt column."""
    items = tuple(shown[:limit]) if filtered else ((selected,) if selected else ())
    runs = tuple(sorted(max(c.run_ids) for c in columns if getattr(c, "run_ids", None)))  # type: ignore[attr-defined]
    return FindingDraft(items, runs)


@dataclass(frozen=True)
class FindingForm:
    category: str
    summary: str
    fix: str
    items: list[str]
    runs: list[str]
    corrections: list[str] = field(default_factory=list)


def split(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value.strip()) if part]


class FindingDialog(ModalScreen[int | None]):
    """`attempt(form)` records the finding and returns its id, or returns the problems to show (a str)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel", id="finding_dialog.cancel"),
        Binding("ctrl+s", "save", "Save", id="finding_dialog.save"),  # not priority: typed keys land first
    ]

    def __init__(
        self, categories: Sequence[str], draft: FindingDraft, attempt: Callable[[FindingForm], int | str]
    ) -> None:
        super().__init__()
        self.categories = list(categories)
        self.draft = draft
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="finding-dialog"):
            yield Static("Record a finding · ctrl+s saves · esc cancels", classes="dialog-title")
            yield Select(  # the workspace's own names: shown as written, never read as markup
                [(cell(c), c) for c in self.categories], prompt="root-cause category", id="finding-category"
            )
            yield Static("", id="finding-error", classes="error")
            yield self._input("summary", "what was found")
            yield self._input("fix", "optional")
            yield self._input("items", "evidence item ids, comma-separated", ", ".join(self.draft.items))
            yield self._input("runs", "evidence run ids", ", ".join(map(str, self.draft.runs)))
            yield self._input("corrections", "label_error only: ITEM=LABEL, …")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    @staticmethod
    def _input(name: str, placeholder: str, value: str = "") -> Input:
        field = Input(value, placeholder=placeholder, id=f"finding-{name}")
        field.border_title = name
        return field

    def on_mount(self) -> None:
        self.query_one("#finding-category", Select).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#finding-summary, #finding-fix, #finding-items, #finding-runs, #finding-corrections")
    def action_save(self) -> None:
        category = self.query_one("#finding-category", Select).value
        if not isinstance(category, str):
            self._error("Choose a root-cause category.")
            return
        value = lambda name: self.query_one(f"#finding-{name}", Input).value  # noqa: E731
        form = FindingForm(
            category,
            value("summary"),
            value("fix"),
            split(value("items")),
            split(value("runs")),
            split(value("corrections")),
        )
        outcome = self.attempt(form)
        if isinstance(outcome, str):
            self._error(outcome)
        else:
            self.dismiss(outcome)

    def _error(self, message: str) -> None:
        error = self.query_one("#finding-error", Static)
        error.update(Text(message))
        error.scroll_visible()


class ResolveDialog(ModalScreen[str | None]):
    """Asks how a finding was resolved; `attempt(resolution, rejected)` returns None or the problems to show."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="resolve_dialog.cancel")]

    def __init__(self, title: str, attempt: Callable[[str, bool], str | None]) -> None:
        super().__init__()
        self.heading = title
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="resolve-dialog"):
            yield Static(Text(self.heading), classes="dialog-title")
            yield Static("enter closes the finding · esc cancels", classes="hint")
            yield Input(placeholder="resolution: what was done, or why it is closed", id="resolution")
            yield Checkbox("rejected: it turned out wrong", id="rejected")  # a checkbox's label never wraps
            yield Static("a rejected label dispute's corrections stop applying", classes="hint")
            yield Static("", id="resolve-error", classes="error")

    @on(Input.Submitted, "#resolution")
    def _submit(self, event: Input.Submitted) -> None:
        problems = self.attempt(event.value, self.query_one("#rejected", Checkbox).value)
        if problems:
            self.query_one("#resolve-error", Static).update(Text(problems))
        else:
            self.dismiss(event.value)
