"""Live progress of a replay: one bar per run with done/total, errors and rate."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from modtui.replay.events import RunProgress
from modtui.tui.text import cell


class RunBar(Horizontal):
    def __init__(self, progress: RunProgress) -> None:
        super().__init__(classes="run-bar", id=f"run-{progress.run_id}")
        self.progress = progress

    def compose(self) -> ComposeResult:
        p = self.progress
        yield Label(cell(f"#{p.run_id} {p.target} × {p.prompt}"), classes="run-name")
        yield ProgressBar(total=p.total, show_eta=False, show_percentage=True)
        yield Label("", classes="run-stats")

    def on_mount(self) -> None:
        self.refresh_stats()

    def refresh_stats(self) -> None:
        p = self.progress
        self.query_one(ProgressBar).update(total=p.total, progress=p.done)
        errors = f" · {p.error_count} no verdict" if p.error_count else ""
        cached = f" · {p.cached} cached" if p.cached else ""
        state = "" if p.status == "running" else f" · {p.status}"
        self.query_one(".run-stats", Label).update(cell(f"{p.done}/{p.total}{errors}{cached} · {p.rate:.1f}/s{state}"
                                                        + (f" · {p.message}" if p.message else "")))


class ReplayProgress(Vertical):
    """Hidden until a replay starts; stays up after it ends so the outcome can be read."""

    def start(self, runs: list[RunProgress]) -> None:
        self.remove_children()
        self.mount_all([RunBar(p) for p in runs])
        self.display = True

    def refresh_bars(self) -> None:
        for bar in self.query(RunBar):
            bar.refresh_stats()
