"""A replay in the background and its live progress: one bar per run with done/total, errors and rate.

The panel owns the replay's worker: whatever goes wrong in it (the log, a provider adapter, a view
that cannot be painted) ends the replay with `Ended(state=ERROR)`, which the screen shows; it never
reaches the app's error handler, which would end the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Label, ProgressBar
from textual.widgets._toast import ToastRack
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from modtui.domain.run import RunStatus
from modtui.replay.events import RunProgress
from modtui.services.replay import ReplayPlan, ReplayReport, ReplaySpec, execute
from modtui.tui.text import cell
from modtui.workspace import Workspace

BAR_SECONDS = 0.1  # the bars repaint at most this often


class RunBar(Horizontal):
    """No DOM id: a resumed run keeps its run id, so two replays in a row would show the same id twice."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__(classes="run-bar")
        self.progress = progress
        self._bar = ProgressBar(total=progress.total, show_eta=False, show_percentage=True)
        self._stats = Label("", classes="run-stats")

    def compose(self) -> ComposeResult:
        p = self.progress
        yield Label(cell(f"#{p.run_id} {p.target} × {p.prompt}"), classes="run-name")
        yield self._bar
        yield self._stats

    def on_mount(self) -> None:
        self._paint()

    def refresh_stats(self) -> None:
        if self.is_mounted:  # until then, on_mount paints the first figures
            self._paint()

    def _paint(self) -> None:
        p = self.progress
        self._bar.update(total=p.total, progress=p.done)
        errors = f" · {p.error_count} no verdict" if p.error_count else ""
        cached = f" · {p.cached} cached" if p.cached else ""
        state = "" if p.status is RunStatus.RUNNING else f" · {p.status}"
        message = f" · {p.message}" if p.message else ""
        rate = "" if p.rate is None else f" · {p.rate:.1f}/s"
        self._stats.update(cell(f"{p.done}/{p.total}{errors}{cached}{rate}{state}{message}"))


class ReplayProgress(Vertical):
    """Hidden until a replay starts; stays up after it ends so the outcome can be read.

    `on_result` is called for every result as it arrives (a direct call, not a message: a replay of
    thousands of items would queue thousands of messages); `Ended` is posted once the replay is over.
    """

    class Ended(Message):
        def __init__(self, state: WorkerState, error: BaseException | None, report: ReplayReport | None) -> None:
            super().__init__()
            self.state = state
            self.error = error
            self.report = report  # when it finished

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.worker: Worker[ReplayReport] | None = None
        self._bar_at = 0.0

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def on_mount(self) -> None:
        self.hide()

    def run(self, ws: Workspace, plan: ReplayPlan, spec: ReplaySpec, on_result: Callable[[RunProgress], None]) -> None:
        self.worker = self._replay(ws, plan, spec, on_result)

    def cancel(self) -> None:
        """Finished results are kept; the worker ends (CANCELLED) once the runs are marked interrupted."""
        if self.worker is not None:
            self.worker.cancel()

    async def cancel_and_wait(self) -> None:
        worker = self.worker
        if worker is None or not worker.is_running:
            return
        worker.cancel()
        try:
            await worker.wait()  # the task's end: the runs are marked interrupted by then
        except (WorkerCancelled, WorkerFailed):
            pass

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def _replay(
        self, ws: Workspace, plan: ReplayPlan, spec: ReplaySpec, on_result: Callable[[RunProgress], None]
    ) -> ReplayReport:
        await self.start([job.progress for job in plan.jobs])

        def progress(p: RunProgress) -> None:
            on_result(p)
            now = time.monotonic()
            if now - self._bar_at >= BAR_SECONDS:
                self._bar_at = now
                self.refresh_bars()

        return await execute(ws, plan, spec, on_progress=progress)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self.refresh_bars()
        report = event.worker.result if event.state is WorkerState.SUCCESS else None
        self.post_message(self.Ended(event.state, event.worker.error, report))

    async def start(self, runs: list[RunProgress]) -> None:
        """The previous replay's bars are gone before the new ones are mounted."""
        await self.remove_children()
        await self.mount_all([RunBar(p) for p in runs])
        self.display = True

    def hide(self) -> None:
        self.display = False
        self._make_room_for_toasts()

    def refresh_bars(self) -> None:
        for bar in self.query(RunBar):
            bar.refresh_stats()

    def on_resize(self) -> None:
        self._make_room_for_toasts()

    def _make_room_for_toasts(self) -> None:
        """Notifications rise above the bars instead of covering them (the footer's line is kept too)."""
        try:
            rack = self.screen.get_child_by_type(ToastRack)  # a system widget: query() does not see it
        except NoMatches:
            return
        rack.styles.margin = (0, 0, 1 + (self.outer_size.height if self.display else 0), 0)
