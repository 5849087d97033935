"""Modal dialogs of the workbench: choose what to replay; name the candidate to save; open a prompt file."""
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

PROMPT_CHOICES = (("both", "baseline + candidate"), ("baseline", "baseline only"), ("candidate", "candidate only"))
ITEM_CHOICES = (("failing", "failing (FP + FN)"), ("guard", "guard"), ("all", "all"))


@dataclass(frozen=True)
class ReplayChoice:
    targets: tuple[str, ...]
    prompts: str  # both | baseline | candidate
    items: str    # failing | guard | all


class ReplayDialog(ModalScreen[ReplayChoice | None]):
    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="replay_dialog.cancel"),
                Binding("ctrl+r", "run", "Run", id="replay_dialog.run")]

    def __init__(self, targets: dict[str, str], default: str) -> None:
        super().__init__()
        self.targets = targets  # name → "provider model"
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="replay-dialog"):
            yield Static("Replay", classes="dialog-title")
            yield Label("Targets")
            for name, describe in self.targets.items():
                yield Checkbox(f"{escape(name)}  [dim]{escape(describe)}[/]", value=name == self.default, name=name, classes="target")
            with Horizontal(classes="choices"):
                with Vertical():
                    yield Label("Prompts")
                    with RadioSet(id="prompts"):
                        for i, (key, text) in enumerate(PROMPT_CHOICES):
                            yield RadioButton(text, value=i == 0, name=key)
                with Vertical():
                    yield Label("Items")
                    with RadioSet(id="items"):
                        for i, (key, text) in enumerate(ITEM_CHOICES):
                            yield RadioButton(text, value=i == 0, name=key)
            yield Static("", id="replay-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Run (ctrl+r)", variant="primary", id="run")
                yield Button("Cancel (esc)", id="cancel")

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
        self.dismiss(ReplayChoice(targets, prompts.name if prompts and prompts.name else "both",
                                  items.name if items and items.name else "failing"))


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
            yield Label(f"in {self.folder}/ — an existing file is never overwritten")
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
            yield Static(f"Open a prompt file of {folder} as the candidate", classes="dialog-title")
            warning = " Your unsaved edits to the candidate will be replaced." if self.edited else ""
            yield Label(f"The file is not changed until you save a copy (ctrl+s).{warning}")
            options = [Option(Text.assemble(path.rsplit("/", 1)[-1], ("  " + note, "dim")), id=path)
                       for path, note in self.files]
            yield OptionList(*options, id="prompt-files")
            if not self.files:
                yield Static("No prompt files in this policy's folder.", classes="error")

    @on(OptionList.OptionSelected, "#prompt-files")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
