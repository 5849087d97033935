"""Modal dialogs of the workbench: choose what to replay; confirm; name the candidate to save; open a prompt file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from modtui.terminal import one_line
from modtui.tui.widgets.tables import Choices

PROMPT_CHOICES = (("both", "baseline + candidate"), ("baseline", "baseline only"), ("candidate", "candidate only"))
ITEM_CHOICES = (("failing", "failing (FP + FN)"), ("guard", "guard"), ("all", "all"))


@dataclass(frozen=True)
class ReplayChoice:
    targets: tuple[str, ...]
    prompts: str  # both | baseline | candidate
    items: str  # failing | guard | all


class ReplayDialog(ModalScreen[ReplayChoice | None]):
    """Starts from the last choice made in this workbench visit (else the default target, both, failing)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel", id="replay_dialog.cancel"),
        Binding("ctrl+r", "run", "Run", id="replay_dialog.run"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self, targets: dict[str, str], default: str, last: ReplayChoice | None = None) -> None:
        super().__init__()
        self.targets = targets  # name → "provider model"
        self.chosen = last.targets if last else (default,)
        self.prompts = last.prompts if last else PROMPT_CHOICES[0][0]
        self.items = last.items if last else ITEM_CHOICES[0][0]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="replay-dialog"):
            yield Static("Replay · ↑/↓ move · space ticks · ctrl+r runs · esc cancels", classes="dialog-title")
            yield Label("Targets")
            for name, describe in self.targets.items():
                yield Checkbox(
                    f"{escape(name)}  [dim]{escape(describe)}[/]",
                    value=name in self.chosen,
                    name=name,
                    classes="target",
                )
            with Horizontal(classes="choices"):
                with Vertical():
                    yield Label("Prompts")
                    with RadioSet(id="prompts"):
                        for key, text in PROMPT_CHOICES:
                            yield RadioButton(text, value=key == self.prompts, name=key)
                with Vertical():
                    yield Label("Items")
                    with RadioSet(id="items"):
                        for key, text in ITEM_CHOICES:
                            yield RadioButton(text, value=key == self.items, name=key)
            yield Static("", id="replay-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Run (ctrl+r)", variant="primary", id="run")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        boxes = list(self.query(".target").results(Checkbox))
        first = next((box for box in boxes if box.value), boxes[0] if boxes else None)
        if first is not None:
            first.focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        targets = tuple(box.name for box in self.query(".target").results(Checkbox) if box.value and box.name)
        if not targets:
            self.query_one("#replay-error", Static).update("Choose at least one target.")
            return
        prompts = self.query_one("#prompts", RadioSet).pressed_button
        items = self.query_one("#items", RadioSet).pressed_button
        self.dismiss(
            ReplayChoice(
                targets,
                prompts.name if prompts and prompts.name else "both",
                items.name if items and items.name else "failing",
            )
        )


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y says yes; n, escape or enter (No has the focus) say no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, question: str, yes: str, no: str) -> None:
        super().__init__()
        self.heading = title
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(self.heading, classes="dialog-title", markup=False)
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="warning", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # enter on the default does the harmless thing

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class SaveDialog(ModalScreen[str | None]):
    """Asks for a file name; `attempt(name)` saves and returns None, or returns the problems to show."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="save_dialog.cancel")]

    def __init__(self, folder: str, attempt: Callable[[str], str | None]) -> None:
        super().__init__()
        self.folder = folder
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="save-dialog"):
            yield Static("Save the candidate as a new prompt file", classes="dialog-title")
            yield Label(Text(f"in {one_line(self.folder)}/ — an existing file is never overwritten"))
            yield Input(placeholder="name (e.g. production-v2)", id="save-name")
            yield Static("", id="save-error", classes="error")

    @on(Input.Submitted, "#save-name")
    def _submit(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            return
        problems = self.attempt(name)
        if problems:
            self.query_one("#save-error", Static).update(Text(problems))
        else:
            self.dismiss(name)


class OpenPromptDialog(ModalScreen[str | None]):
    """Choose a prompt file of the incident's policy to load into the candidate editor (newest first)."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="open_dialog.cancel")]

    def __init__(self, files: list[tuple[str, str]], edited: bool) -> None:
        super().__init__()
        self.files = files  # (path, note) — note says "production" or when it was modified
        self.edited = edited

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="open-dialog"):
            folder = self.files[0][0].rsplit("/", 1)[0] + "/" if self.files else "the policy's folder"
            yield Static(Text(f"Open a prompt file of {one_line(folder)} as the candidate"), classes="dialog-title")
            warning = " Your unsaved edits to the candidate will be replaced." if self.edited else ""
            yield Label(f"The file is not changed until you save a copy (ctrl+s).{warning}")
            options = [
                Option(Text.assemble(one_line(path.rsplit("/", 1)[-1]), ("  " + note, "dim")), id=path)
                for path, note in self.files
            ]
            yield Choices(*options, id="prompt-files")
            if not self.files:
                yield Static("No prompt files in this policy's folder.", classes="error")

    @on(OptionList.OptionSelected, "#prompt-files")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
