"""The workbench for one incident: items × verdicts, prompt editors with the diff, replay, metrics."""
from __future__ import annotations

import time
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from modtui.errors import InputError, ModtuiError
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.loader import LoadedPrompt, parse_prompt
from modtui.replay.events import RunProgress
from modtui.services.incidents import load_and_sync
from modtui.services.replay import ReplayPlan, ReplaySpec, execute
from modtui.services.workbench import (VerdictMatrix, candidate_prompt, item_history, plan_with_prompts,
                                       save_candidate, verdict_matrix)
from modtui.store.incidents import events
from modtui.tui.screens.dialogs import ReplayChoice, ReplayDialog, SaveDialog
from modtui.tui.screens.item_detail import ItemDetailScreen
from modtui.tui.screens.timeline import TimelineScreen
from modtui.tui.text import inert
from modtui.tui.widgets.items_table import FILTERS, ItemsTable
from modtui.tui.widgets.metrics_panel import MetricsPanel
from modtui.tui.widgets.prompt_editors import PromptEditors
from modtui.tui.widgets.replay_progress import ReplayProgress
from modtui.workspace import Workspace

BAR_SECONDS = 0.1     # progress bars repaint at most this often
TABLE_SECONDS = 0.5   # the items table and metrics re-read the log at most this often during a replay


@dataclass
class WorkbenchData:
    loaded: LoadedIncident
    baseline: LoadedPrompt
    baseline_source: str
    matrix: VerdictMatrix

    @classmethod
    def load(cls, ws: Workspace, incident_id: str) -> "WorkbenchData":
        loaded = load_and_sync(ws, incident_id)
        baseline = ws.load_prompt(loaded.incident.production.prompt)
        return cls(loaded, baseline, ws.prompt_source(baseline), verdict_matrix(ws, loaded))


def _filter_binding(key: str, which: str) -> Binding:
    return Binding(key, f"filter('{which}')", f"Show {FILTERS[which]}", id=f"workbench.filter_{which}", show=False)


class WorkbenchScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "replay", "Replay", id="workbench.replay"),
        Binding("escape", "cancel_or_back", "Back", id="workbench.back"),
        Binding("slash", "search", "Search", id="workbench.search", key_display="/"),
        Binding("d", "diff", "Diff", id="workbench.diff"),
        Binding("ctrl+s", "save_candidate", "Save candidate", id="workbench.save", priority=True),
        Binding("t", "timeline", "Timeline", id="workbench.timeline"),
        Binding("i", "tab('items')", "Items", id="workbench.tab_items"),
        Binding("e", "tab('prompts')", "Prompts", id="workbench.tab_prompts"),
        Binding("m", "tab('metrics')", "Metrics", id="workbench.tab_metrics"),
        _filter_binding("1", "all"), _filter_binding("2", "fp"), _filter_binding("3", "fn"),
        _filter_binding("4", "guard"), _filter_binding("5", "flipped"), _filter_binding("6", "regressed"),
        _filter_binding("7", "no_verdict"),
    ]

    def __init__(self, data: WorkbenchData) -> None:
        super().__init__()
        self.data = data
        self.which = "all"
        self.search = ""
        self.saved: tuple[str, str] | None = None  # (text, path) of the last save
        self._bar_at = 0.0
        self._reload_scheduled = False
        self.replay_worker: Worker[None] | None = None
        inc = data.loaded.incident
        self.title = f"{inc.id} · {inert(inc.title)}"
        self.sub_title = f"{inc.severity.value} · {inc.status.value} · {inc.policy}"

    @property
    def ws(self) -> Workspace:
        return self.app.ws  # type: ignore[attr-defined,no-any-return]

    @property
    def replaying(self) -> bool:
        return self.replay_worker is not None and self.replay_worker.is_running

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="items", id="tabs"):
            with TabPane("Items", id="items"):
                with Horizontal(id="items-bar"):
                    yield Static("", id="items-status")
                    yield Input(placeholder="/ search content", id="item-search")
                yield ItemsTable(id="items-table")
            with TabPane("Prompts", id="prompts"):
                yield PromptEditors(self.data.baseline.path, self.data.baseline_source, id="prompt-editors")
            with TabPane("Metrics", id="metrics"):
                with Vertical():
                    yield MetricsPanel(id="metrics-table")
                    yield Static("", id="metrics-note", classes="hint")
        yield ReplayProgress(id="replay-progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReplayProgress).display = False
        self.refresh_views()
        self.query_one(ItemsTable).focus()

    # -- views ------------------------------------------------------------------------------------

    def refresh_views(self) -> None:
        matrix, items = self.data.matrix, self.data.loaded.items
        shown = self.query_one(ItemsTable).show(items, matrix, self.which, self.search)
        searched = f" · search “{inert(self.search)}”" if self.search else ""
        self.query_one("#items-status", Static).update(
            f"{FILTERS[self.which]}: {shown} of {len(items)}{searched} · 1 all 2 FP 3 FN 4 guard 5 flipped "
            f"6 regressed 7 no-verdict")
        self.query_one(MetricsPanel).show(matrix)
        note = ("No replays yet: press r." if not matrix.columns else
                f"positive label: {matrix.positive} · fixed/regressed and McNemar p are against the baseline "
                f"prompt on the same target · flipped {len(matrix.flipped)}, regressed {len(matrix.regressed)}")
        self.query_one("#metrics-note", Static).update(note)

    def reload_matrix(self) -> None:
        self._reload_scheduled = False
        self.data.matrix = verdict_matrix(self.ws, self.data.loaded)
        self.refresh_views()

    def action_filter(self, which: str) -> None:
        self.which = which
        self.query_one(TabbedContent).active = "items"
        self.refresh_views()

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "items"
        self.query_one("#item-search", Input).focus()

    @on(Input.Changed, "#item-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value
        self.refresh_views()

    @on(Input.Submitted, "#item-search")
    def _search_done(self) -> None:
        self.query_one(ItemsTable).focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"items": ItemsTable, "prompts": None, "metrics": MetricsPanel}[tab]
        if target is not None:
            self.query_one(target).focus()
        else:
            self.query_one("#candidate").focus()

    def action_diff(self) -> None:
        self.query_one(TabbedContent).active = "prompts"
        self.query_one(PromptEditors).toggle_diff()

    def action_timeline(self) -> None:
        self.app.push_screen(TimelineScreen(self.data.loaded.id, events(self.ws.store(), self.data.loaded.id)))

    @on(ItemsTable.RowSelected, "#items-table")
    def _open_item(self, event: ItemsTable.RowSelected) -> None:
        item_id = event.row_key.value
        item = next((i for i in self.data.loaded.items if i.id == item_id), None)
        if item is not None:
            history = item_history(self.ws, self.data.loaded.id, item.id)
            self.app.push_screen(ItemDetailScreen(self.data.loaded.id, item, history))

    def action_cancel_or_back(self) -> None:
        if self.replaying and self.replay_worker is not None:
            self.replay_worker.cancel()
            self.notify("Cancelling the replay; finished results are kept.")
        else:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay" and self.replaying:
            return None  # shown disabled while a replay runs
        return True

    # -- the candidate --------------------------------------------------------------------------------

    def candidate(self) -> tuple[LoadedPrompt, str]:
        """The editor's text as a prompt: the saved file's path when unchanged since saving. Raises InputError."""
        text = self.query_one(PromptEditors).candidate_text
        if self.saved and self.saved[0] == text:
            return parse_prompt(text, self.saved[1]), text
        return candidate_prompt(self.data.loaded.incident.policy, text), text

    def action_save_candidate(self) -> None:
        policy = self.data.loaded.incident.policy
        self.app.push_screen(SaveDialog(f"prompts/{policy}", self._try_save), self._saved)

    def _try_save(self, name: str) -> str | None:
        text = self.query_one(PromptEditors).candidate_text
        try:
            path = save_candidate(self.ws, self.data.loaded.incident.policy, name, text)
        except InputError as exc:
            return "\n".join(inert(str(p)) for p in exc.problems)
        self.saved = (text, self.ws.relative(path))
        return None

    def _saved(self, name: str | None) -> None:
        if name and self.saved:
            self.notify(f"Saved {self.saved[1]}")

    # -- replay ----------------------------------------------------------------------------------------

    def action_replay(self) -> None:
        targets = {name: f"{t.provider} {t.model}".strip() for name, t in self.ws.config.targets.items()}
        default = self.ws.production_target(self.data.loaded.incident.production.model).name
        self.app.push_screen(ReplayDialog(targets, default), self._start_replay)

    def _start_replay(self, choice: ReplayChoice | None) -> None:
        if choice is None:
            return
        prompts: list[LoadedPrompt] = []
        sources: dict[str, str] = {}
        if choice.prompts in ("both", "baseline"):
            prompts.append(self.data.baseline)
        if choice.prompts in ("both", "candidate"):
            try:
                cand, text = self.candidate()
            except InputError as exc:
                self.notify("\n".join(inert(str(p)) for p in exc.problems[:5]), title="The candidate is not valid",
                            severity="error", timeout=10)
                return
            if cand.version == self.data.baseline.version:
                self.notify("The candidate is the same prompt as the baseline.", severity="warning")
            prompts.append(cand)
            sources[cand.path] = text
        spec = ReplaySpec(self.data.loaded.id, targets=choice.targets, items=choice.items, author=self.ws.author())
        try:
            plan = plan_with_prompts(self.ws, spec, prompts, sources)
        except ModtuiError as exc:
            self.notify(inert(str(exc)), title="Cannot replay", severity="error", timeout=10)
            return
        self.query_one(ReplayProgress).start([job.progress for job in plan.jobs])
        self.replay_worker = self.run_replay(plan, spec)
        self.refresh_bindings()

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def run_replay(self, plan: ReplayPlan, spec: ReplaySpec) -> None:
        await execute(self.ws, plan, spec, on_progress=self._on_progress)

    def _on_progress(self, progress: RunProgress) -> None:
        now = time.monotonic()
        if now - self._bar_at >= BAR_SECONDS:
            self._bar_at = now
            self.query_one(ReplayProgress).refresh_bars()
        if not self._reload_scheduled:
            self._reload_scheduled = True
            self.set_timer(TABLE_SECONDS, self.reload_matrix)

    @on(Worker.StateChanged)
    def _replay_state(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.replay_worker or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self.query_one(ReplayProgress).refresh_bars()
        self.reload_matrix()
        self.refresh_bindings()
        if event.state is WorkerState.SUCCESS:
            self.notify("Replay finished.")
        elif event.state is WorkerState.CANCELLED:
            self.notify("Replay cancelled; the results that finished are kept (runs marked interrupted).")
        elif event.state is WorkerState.ERROR:
            self.notify(inert(str(event.worker.error)), title="Replay failed", severity="error", timeout=15)
