"""The workbench for one incident: items × verdicts, prompt editors with the diff, replay, metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState

from modtui.errors import InputError, ModtuiError
from modtui.files.text import read_text
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.loader import LoadedPrompt, parse_prompt
from modtui.replay.events import RunProgress
from modtui.services.decide import column_frontier
from modtui.services.incidents import load_and_sync
from modtui.services.replay import ReplayReport, ReplaySpec, model_warnings
from modtui.terminal import one_line
from modtui.services.workbench import (
    VerdictColumn,
    VerdictMatrix,
    candidate_prompt,
    column_citations,
    count_results,
    item_history,
    plan_with_prompts,
    policy_prompts,
    save_candidate,
    starting_candidate,
    verdict_matrix,
)
from modtui.services.masking import masked_items
from modtui.services.queue import build as review_queue
from modtui.services.slice_view import SliceView
from modtui.services.slices import RULE
from modtui.tui.screens.dialogs import ConfirmDialog, OpenPromptDialog, ReplayChoice, ReplayDialog, SaveDialog
from modtui.tui.screens.finding_dialogs import FindingDraft, finding_draft
from modtui.tui.screens.item_detail import ItemDetailScreen, flip_pairs
from modtui.tui.screens.timeline import TimelineScreen
from modtui.tui.text import inert
from modtui.tui.widgets.tables import typing_in
from modtui.tui.widgets.items_table import FILTERS, ItemsTable
from modtui.tui.widgets.metrics_panel import (
    FrontierPlot,
    MetricsPanel,
    ReliabilityPlot,
    SweepPlot,
    column_key,
    frontier_caption,
    reliability_caption,
    sweep_caption,
)
from modtui.tui.widgets.slices_table import SlicesTable
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.prompt_editors import DiffTextArea, PromptEditors
from modtui.tui.widgets.replay_progress import ReplayProgress
from modtui.workspace import Workspace

SCORE_SECONDS = 0.5  # metrics and filters follow arriving results at most this often
SYNC_RESULTS = 20_000  # a log with more results for the incident is read in a thread after the first paint
SYNC_SLICE_ITEMS = 5_000  # a bigger incident's slice view (item facts, keys, disagreements) is built likewise


@dataclass
class WorkbenchData:
    loaded: LoadedIncident
    baseline: LoadedPrompt
    baseline_source: str
    matrix: VerdictMatrix
    candidate: tuple[str, str] | None  # (path, text) of the prompt file the candidate starts from
    matrix_pending: bool = False  # the log is large: the screen reads it after its first paint
    skipped_prompts: list[str] = field(default_factory=list)  # why newer prompt files could not be the candidate

    @classmethod
    def load(cls, ws: Workspace, incident_id: str) -> "WorkbenchData":
        loaded = load_and_sync(ws, incident_id)
        baseline = ws.load_prompt(loaded.incident.production.prompt)
        candidate, skipped = starting_candidate(ws, loaded)
        if count_results(ws, loaded.id, SYNC_RESULTS + 1) > SYNC_RESULTS:
            matrix = VerdictMatrix(loaded.incident.positive_label, {i.id: i.expected for i in loaded.items})
            return cls(loaded, baseline, ws.prompt_source(baseline), matrix, candidate, True, skipped)
        return cls(loaded, baseline, ws.prompt_source(baseline), verdict_matrix(ws, loaded), candidate, False, skipped)


def _filter_binding(key: str, which: str) -> Binding:
    return Binding(key, f"filter('{which}')", f"Show {FILTERS[which]}", id=f"workbench.filter_{which}", show=False)


class WorkbenchScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "replay", "Replay", id="workbench.replay"),
        Binding(
            "c",
            "cancel_replay",
            "Cancel replay",
            id="workbench.cancel_replay",
            tooltip="Stop the running replay (asks first); finished results are kept",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="workbench.back",
            show=False,
            tooltip="Close the innermost thing: the search box, the diff, the editor; else back to the incidents",
        ),
        Binding("slash", "search", "Search", id="workbench.search", key_display="/"),
        Binding("i", "tab('items')", "Items", id="workbench.tab_items", show=False),
        Binding("e", "tab('prompts')", "Prompts", id="workbench.tab_prompts", show=False),
        Binding("m", "tab('metrics')", "Metrics", id="workbench.tab_metrics", show=False),
        Binding("d", "diff", "Diff", id="workbench.diff", tooltip="Toggle the unified diff of baseline → candidate"),
        Binding(
            "p",
            "plots",
            "Plots",
            id="workbench.plots",
            show=False,
            tooltip="Metrics: the threshold and reliability plots, or the cost × F1 frontier of every row",
        ),
        Binding(
            "w",
            "wrap",
            "Wrap",
            id="workbench.wrap",
            show=False,
            tooltip="Soft-wrap long lines in the prompt editors, or let them run on",
        ),
        Binding(
            "o",
            "open_prompt",
            "Open",
            id="workbench.open_prompt",
            tooltip="Open a prompt file of the policy as the candidate",
        ),
        Binding(
            "ctrl+s",
            "save_candidate",
            "Save",
            id="workbench.save",
            priority=True,
            tooltip="Save the candidate as a new prompt file",
        ),
        Binding("t", "timeline", "Timeline", id="workbench.timeline", tooltip="Findings & timeline"),
        Binding(
            "f",
            "record_finding",
            "Finding",
            id="workbench.finding",
            tooltip="Record a finding: root cause, with the shown items and the latest runs as evidence",
        ),
        Binding(
            "v", "reveal", "Reveal", id="workbench.reveal", tooltip="Show or hide content masked for reviewer wellbeing"
        ),
        _filter_binding("1", "all"),
        _filter_binding("2", "fp"),
        _filter_binding("3", "fn"),
        _filter_binding("4", "guard"),
        _filter_binding("5", "flipped"),
        _filter_binding("6", "regressed"),
        _filter_binding("7", "no_verdict"),
        _filter_binding("8", "disagreement"),
        _filter_binding("9", "queue"),
    ]

    def __init__(self, data: WorkbenchData) -> None:
        super().__init__()
        self.data = data
        self.which = "all"
        self.search = ""
        self.masks: dict[str, str] = {}  # item id → why its content is masked (until `v`)
        self.revealed = False
        self.show_frontier = False  # `p`: the metrics tab's plots are the cost × F1 frontier
        self._score_scheduled = False
        self._dirty_targets: set[str] = set()
        self._run_columns: dict[int, VerdictColumn] = {}
        self.last_choice: ReplayChoice | None = None  # the replay dialog starts from it
        self._leave_warned = False
        items = data.loaded.items
        self.slices: SliceView | None = SliceView(items) if len(items) <= SYNC_SLICE_ITEMS else None
        self.queue: dict[str, list[str]] = {}  # the review queue: item id → why it is in it (filter "queue")
        self._citations: tuple[object, object, dict[str, tuple[str, ...]]] = (None, None, {})
        inc = data.loaded.incident
        self.title = f"{inc.id} · {inert(inc.title)}"
        self.sub_title = f"{inc.severity.value} · {inc.status.value} · {inert(inc.policy)}"

    @property
    def ws(self) -> Workspace:
        return self.app.ws  # type: ignore[attr-defined]

    @property
    def matrix(self) -> VerdictMatrix:
        return self.data.matrix

    @property
    def replaying(self) -> bool:
        try:
            return self.query_one(ReplayProgress).running
        except NoMatches:  # the footer may ask for the screen's keys before the screen has composed
            return False

    @property
    def replay_worker(self) -> Worker[ReplayReport] | None:
        return self.query_one(ReplayProgress).worker

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="items", id="tabs"):
            with TabPane("Items (i)", id="items"):
                with Horizontal(id="items-bar"):
                    yield Static("", id="items-status")
                    yield Input(placeholder="/ search content", id="item-search", compact=True)
                yield ItemsTable(id="items-table")
            with TabPane("Prompts (e)", id="prompts"):
                yield PromptEditors(
                    self.data.baseline.path, self.data.baseline_source, self.data.candidate, id="prompt-editors"
                )
            with TabPane("Metrics (m)", id="metrics"):
                with VerticalScroll(id="metrics-pane", can_focus=False):
                    yield MetricsPanel(id="metrics-table")
                    yield Static("", id="metrics-note", classes="hint")
                    with Horizontal(id="metrics-plots"):
                        with Vertical(id="sweep-box"):
                            yield SweepPlot(id="sweep-plot")
                            yield Static("", id="sweep-caption", classes="hint")
                        with Vertical(id="reliability-box"):
                            yield ReliabilityPlot(id="reliability-plot")
                            yield Static("", id="reliability-caption", classes="hint")
                        with Vertical(id="frontier-box"):
                            yield FrontierPlot(id="frontier-plot")
                            yield Static("", id="frontier-caption", classes="hint")
                    yield Static("", id="slices-caption", classes="hint")
                    yield SlicesTable(id="slices-table")
        yield ReplayProgress(id="replay-progress")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.masks = masked_items(self.ws.config.settings, self.data.loaded.incident, self.data.loaded.items)
        self.query_one(ItemsTable).set_masked(self.masks)
        self.refresh_views()
        self.query_one(ItemsTable).focus()
        for problem in self.data.skipped_prompts:
            self.notify(inert(problem), title="Not opened as the candidate", severity="warning", timeout=15)
        self.call_after_refresh(self._after_first_paint)  # the items are drawn first; the threads start after

    def _after_first_paint(self) -> None:
        if self.slices is None:
            self._build_slices()
        if self.data.matrix_pending:
            self.reload_matrix()

    @work(thread=True, exclusive=True, group="slices", exit_on_error=False)
    def _build_slices(self) -> SliceView:
        return SliceView(self.data.loaded.items)

    # -- views ------------------------------------------------------------------------------------

    def refresh_views(self) -> None:
        self.refresh_items()
        self.refresh_metrics()

    def refresh_items(self) -> None:
        items = self.data.loaded.items
        if self.which == "queue":  # the queue's order: most in need of a person first
            by_id = {i.id: i for i in items}
            items = [by_id[i] for i in self.queue if i in by_id] + [i for i in items if i.id not in self.queue]
        slices = self.slices
        chosen = (
            frozenset(self.queue)
            if self.which == "queue"
            else slices.chosen(self.which)
            if slices is not None
            else frozenset()
        )
        shown = self.query_one(ItemsTable).show(items, self.matrix, self.which, self.search, chosen)
        searched = f" · search “{inert(self.search)}”" if self.search else ""
        loading = " · reading verdicts…" if self.data.matrix_pending else ""
        disagree = " 8 disagree" if slices is not None and slices.disagreements else ""
        title = slices.filter_title(self.which, FILTERS[self.which]) if slices is not None else FILTERS[self.which]
        self.query_one("#items-status", Static).update(  # one line, fixed height: no relayout per filter
            Text(
                f"{one_line(title)}: {shown} of {len(items)}"
                f"{searched}{loading} · 1 all 2 FP 3 FN 4 guard 5 flipped 6 regressed 7 no-verdict{disagree}"
            ),
            layout=False,
        )

    def refresh_metrics(self) -> None:
        matrix = self.matrix
        prefer = column_key(matrix.columns[-1]) if matrix.columns else None
        self.query_one(MetricsPanel).show(matrix, prefer)
        if self.data.matrix_pending:
            note = "Reading the log…"
        elif not matrix.columns:
            note = "No replays yet: press r."
        else:
            note = (
                f"↑/↓ choose the row the plot shows · positive label: {one_line(matrix.positive)} · fixed/regressed and "
                f"McNemar p are against the same target's base(line) prompt · flipped {len(matrix.flipped)}, "
                f"regressed {len(matrix.regressed)}"
            )
        self.query_one("#metrics-note", Static).update(Text(note))  # the label is the incident's: not markup
        self.refresh_plot()

    def refresh_plot(self) -> None:
        """The threshold sweep, reliability diagram and slices of the metrics row under the cursor (or, after `p`,
        the cost × F1 frontier of every row)."""
        frontier = self.show_frontier
        self.query_one("#frontier-box").display = frontier
        self.query_one("#sweep-box").display = self.query_one("#reliability-box").display = not frontier
        if frontier:
            points = column_frontier(self.ws, self.matrix.columns)
            self.query_one(FrontierPlot).show(points)
            self.query_one("#frontier-caption", Static).update(frontier_caption(points))
        column = self._highlighted_column()
        plot, caption = self.query_one(SweepPlot), self.query_one("#sweep-caption", Static)
        reliability, reliability_note = self.query_one(ReliabilityPlot), self.query_one("#reliability-caption", Static)
        if column is None:
            plot.display = reliability.display = False
            caption.update("")
            reliability_note.update("")
            self.refresh_slices(None)
            return
        result = self.matrix.sweep(column)
        plot.display = result is not None
        if result is not None:
            plot.show(column.title, self.matrix.positive, result)
        caption.update(sweep_caption(column.title, self.matrix.positive, result))
        calibration = self.matrix.calibration(column)
        reliability.display = calibration is not None
        if calibration is not None:
            reliability.show(self.matrix.positive, calibration)
        reliability_note.update(reliability_caption(calibration))
        self.refresh_slices(column)

    def refresh_slices(self, column: VerdictColumn | None) -> None:
        """The highlighted row's metrics cut by the chosen key."""
        table, caption = self.query_one(SlicesTable), self.query_one("#slices-caption", Static)
        view = self.slices
        slices = (
            []
            if column is None or view is None  # a big incident's view is built after the first paint
            else view.of(self.matrix.scored_items(column), self.matrix.positive, self._cited(column))
        )
        table.display = bool(slices)
        table.show(slices)
        where = f"{one_line(column.title)}: " if column is not None else ""
        caption.update(
            Text(
                f"{where}slices by {one_line(view.by)} (b: next key · enter: show its items · "
                f"dim: under {view.min_n} items)"
                if slices and view is not None
                else ""
            )
        )

    def _cited(self, column: VerdictColumn | None) -> dict[str, tuple[str, ...]] | None:
        """The rules the column's verdicts cited (read from the log only while the view is cut by rule)."""
        if column is None or self.slices is None or self.slices.by != RULE:
            return None
        # results arrive in memory before the log commits them: re-read when the matrix is re-read from the log too
        stamp = (column.key, tuple(column.run_ids), len(column.results))
        matrix, seen, cited = self._citations
        if matrix is not self.matrix or seen != stamp:
            self._citations = (self.matrix, stamp, column_citations(self.ws, column))
        return self._citations[2]

    def _highlighted_column(self) -> VerdictColumn | None:
        key = self.query_one(MetricsPanel).highlighted_key()
        return next((c for c in self.matrix.columns if column_key(c) == key), None)

    @on(SlicesTable.KeyCycled)
    def _next_slice_key(self) -> None:
        if self.slices is None:
            return
        self.slices.next_key()
        self.refresh_plot()

    @on(SlicesTable.Chosen)
    def _slice_chosen(self, event: SlicesTable.Chosen) -> None:
        if self.slices is None:
            return
        column = self._highlighted_column()
        scored = self.matrix.scored_items(column) if column is not None else []
        self.slices.choose(event.key, self._cited(column), scored)
        self.action_filter("slice")
        self.action_tab("items")

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_changed(self) -> None:
        """A finished replay's bars give way to the editors and the plot (the outcome is in metrics and timeline)."""
        if not self.replaying:
            self.query_one(ReplayProgress).hide()
        self.refresh_bindings()  # some keys are shown on one tab only

    @on(DataTable.RowHighlighted, "#metrics-table")
    def _metrics_row(self) -> None:
        self.refresh_plot()

    def reload_matrix(self) -> None:
        """Re-read the verdicts from the log: at once for a small incident, else in a thread."""
        if count_results(self.ws, self.data.loaded.id, SYNC_RESULTS + 1) > SYNC_RESULTS:
            self.data.matrix_pending = True
            self._read_matrix()
        else:
            self.data.matrix = verdict_matrix(self.ws, self.data.loaded)
            self.refresh_views()

    @work(thread=True, exclusive=True, group="matrix", exit_on_error=False)
    def _read_matrix(self) -> VerdictMatrix:
        return verdict_matrix(self.ws, self.data.loaded)

    def action_filter(self, which: str) -> None:
        if which == "queue":  # the latest runs, repeats, probes and annotations as the log holds them now
            reasons = review_queue(self.ws, self.data.loaded.id, size=None).reasons_of()
            self.queue = {item: [f"{r.code}: {r.detail}" for r in rs] for item, rs in reasons.items()}
        self.which = which
        self.query_one(TabbedContent).active = "items"
        self.refresh_items()

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "items"
        self.query_one("#item-search", Input).focus()

    @on(Input.Changed, "#item-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value
        self.refresh_items()

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

    def action_plots(self) -> None:
        self.show_frontier = not self.show_frontier
        self.query_one(TabbedContent).active = "metrics"
        self.refresh_plot()

    def action_wrap(self) -> None:
        self.query_one(TabbedContent).active = "prompts"
        wrapped = self.query_one(PromptEditors).toggle_wrap()
        self.notify("Long lines wrap." if wrapped else "Long lines run on; the two editors scroll sideways together.")

    def _finding_draft(self) -> FindingDraft:
        table = self.query_one(ItemsTable)
        return finding_draft(
            table.shown_ids(), table.selected_item_id(), self.which != "all" or bool(self.search), self.matrix.columns
        )

    def action_timeline(self) -> None:
        self.app.push_screen(TimelineScreen(self.data.loaded.id, self._finding_draft()))

    def action_record_finding(self) -> None:
        """The timeline, with the finding dialog open over it (saved or not, the timeline stays)."""
        timeline = TimelineScreen(self.data.loaded.id, self._finding_draft())
        self.app.push_screen(timeline)
        timeline.call_after_refresh(timeline.action_add_finding)

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.query_one(ItemsTable).set_masked({} if self.revealed else self.masks)

    @on(ItemsTable.Selected, "#items-table")
    def _open_item(self, event: ItemsTable.Selected) -> None:
        item = next((i for i in self.data.loaded.items if i.id == event.item_id), None)
        if item is not None:
            history = item_history(self.ws, self.data.loaded.id, item.id)
            masked = None if self.revealed else self.masks.get(item.id)
            reasons = self.queue.get(item.id) if self.which == "queue" else None
            self.app.push_screen(
                ItemDetailScreen(
                    self.data.loaded.id, item, history, masked, reasons, flip_pairs(self.matrix, item.id, history)
                )
            )

    # -- escape, leaving, cancelling ---------------------------------------------------------------------

    def action_back(self) -> None:
        """Escape closes the innermost thing only: the search box, the diff, the editor; then the screen."""
        focused, search = self.focused, self.query_one("#item-search", Input)
        editors = self.query_one(PromptEditors)
        if focused is search:
            self.query_one(ItemsTable).focus()
        elif self.query_one(TabbedContent).active == "prompts" and editors.diff_mode:
            editors.toggle_diff()
        elif isinstance(focused, DiffTextArea):
            self.query_one(TabbedContent).query_one(Tabs).focus()
        elif self.search and isinstance(focused, ItemsTable):
            search.value = ""  # Input.Changed refreshes the table
        else:
            self.request_leave(self.app.pop_screen, "escape", "leaves")

    def request_leave(self, leave: Callable[[], object], key: str, verb: str) -> None:
        """Leave (pop the screen, quit) unless that loses something: a running replay asks first;
        unsaved candidate edits are warned about once, the same key again leaves."""
        edited = self.query_one(PromptEditors).edited
        if self.replaying:
            lost = " The candidate's unsaved edits are lost too." if edited else ""

            async def answered(yes: bool | None) -> None:
                if yes:
                    await self.query_one(ReplayProgress).cancel_and_wait()
                    leave()

            self.app.push_screen(
                ConfirmDialog(
                    "A replay is running",
                    f"Leaving cancels it; the results that finished are kept and a later replay "
                    f"resumes the runs.{lost}",
                    "Cancel it and leave",
                    "Stay",
                ),
                answered,
            )
        elif edited and not self._leave_warned:
            self._leave_warned = True  # the edits live only in the editor: say so once
            self.notify(
                f"The candidate has unsaved edits: ctrl+s saves them as a new file; {key} again {verb} without saving.",
                title="Unsaved candidate",
                severity="warning",
                timeout=8,
            )
        else:
            leave()

    def action_cancel_replay(self) -> None:
        if not self.replaying:
            return

        def answered(yes: bool | None) -> None:
            if yes and self.replaying:
                self.query_one(ReplayProgress).cancel()
                self.notify("Cancelling the replay; finished results are kept.")

        self.app.push_screen(
            ConfirmDialog(
                "Cancel the replay?",
                "The results that finished are kept; the runs are marked interrupted and a later replay resumes them.",
                "Cancel the replay",
                "Keep running",
            ),
            answered,
        )

    @on(PromptEditors.CandidateChanged)
    def _candidate_changed(self) -> None:
        self._leave_warned = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay" and self.replaying:
            return None  # shown disabled while a replay runs
        if action == "cancel_replay":
            return self.replaying  # shown only while a replay runs
        if action == "reveal" and not self.masks:
            return False  # nothing is masked: the key is hidden
        if action == "search" and typing_in(self.focused):
            return False  # "/" is typed there (Textual does not filter the slash key out of the footer)
        return True

    # -- the candidate --------------------------------------------------------------------------------

    def candidate(self) -> tuple[LoadedPrompt, str]:
        """The editor's text as a prompt: under its file's path when unchanged since loaded or saved. Raises InputError."""
        editors = self.query_one(PromptEditors)
        text = editors.candidate_text
        if editors.source and not editors.edited:
            return parse_prompt(text, editors.source[0]), text
        return candidate_prompt(self.data.loaded.incident.policy, text), text

    def action_open_prompt(self) -> None:
        files = [
            (
                f.path,
                "production"
                if f.is_production
                else "modified " + datetime.fromtimestamp(f.modified).strftime("%Y-%m-%d %H:%M"),
            )
            for f in policy_prompts(self.ws, self.data.loaded)
        ]
        self.app.push_screen(OpenPromptDialog(files, self.query_one(PromptEditors).edited), self._open_chosen)

    def _open_chosen(self, path: str | None) -> None:
        if not path:
            return
        try:
            text = read_text(self.ws.root / path, path)
        except ModtuiError as exc:
            self.notify(inert(str(exc)), title="Cannot open the prompt", severity="error", timeout=10)
            return
        self.query_one(PromptEditors).set_candidate(text, source=path)
        self.action_tab("prompts")

    def action_save_candidate(self) -> None:
        policy = self.data.loaded.incident.policy
        self.app.push_screen(SaveDialog(f"prompts/{policy}", self._try_save), self._saved)

    def _try_save(self, name: str) -> str | None:
        editors = self.query_one(PromptEditors)
        text = editors.candidate_text
        try:
            path = save_candidate(self.ws, self.data.loaded.incident.policy, name, text)
        except InputError as exc:
            return "\n".join(inert(str(p)) for p in exc.problems)
        editors.set_candidate(text, source=self.ws.relative(path))
        return None

    def _saved(self, name: str | None) -> None:
        source = self.query_one(PromptEditors).source
        if name and source:
            self.notify(f"Saved {source[0]}")

    # -- replay ----------------------------------------------------------------------------------------

    def action_replay(self) -> None:
        if self.replaying:
            return
        targets = {name: f"{t.provider} {t.model}".strip() for name, t in self.ws.config.targets.items()}
        default = self.ws.production_target(self.data.loaded.incident.production.model).name
        last = self.last_choice if self.last_choice and set(self.last_choice.targets) <= set(targets) else None
        self.app.push_screen(ReplayDialog(targets, default, last), self._start_replay)

    def _start_replay(self, choice: ReplayChoice | None) -> None:
        if choice is None or self.replaying:
            return
        self.last_choice = choice
        prompts: list[LoadedPrompt] = []
        sources: dict[str, str] = {}
        if choice.prompts in ("both", "baseline"):
            prompts.append(self.data.baseline)
        if choice.prompts in ("both", "candidate"):
            try:
                cand, text = self.candidate()
            except InputError as exc:
                self.notify(
                    "\n".join(inert(str(p)) for p in exc.problems[:5]),
                    title="The candidate is not valid",
                    severity="error",
                    timeout=10,
                )
                return
            if cand.version == self.data.baseline.version:
                self.notify("The candidate is the same prompt as the baseline.", severity="warning")
            prompts.append(cand)
            sources[cand.path] = text
        try:
            spec = ReplaySpec(self.data.loaded.id, targets=choice.targets, items=choice.items, author=self.ws.author())
            plan = plan_with_prompts(self.ws, spec, prompts, sources)
        except ModtuiError as exc:
            self.notify(inert(str(exc)), title="Cannot replay", severity="error", timeout=10)
            return
        self._run_columns = {
            job.run_id: self.matrix.open_run(
                job.run_id, job.target.name, job.prompt, job.prompt.version == plan.baseline_version
            )
            for job in plan.jobs
        }
        self.refresh_views()
        self.query_one(ReplayProgress).run(self.ws, plan, spec, self._on_result)
        self.refresh_bindings()

    def _on_result(self, progress: RunProgress) -> None:
        """One result arrived: its cell now; metrics and filters a little later."""
        column = self._run_columns.get(progress.run_id)
        if column is not None and progress.last_item_id is not None and progress.last_verdict is not None:
            if self.matrix.record(column, progress.last_item_id, progress.last_verdict):
                self.query_one(ItemsTable).refresh_item(progress.last_item_id)
                self._dirty_targets.add(column.target)
        if not self._score_scheduled:
            self._score_scheduled = True
            self.set_timer(SCORE_SECONDS, self._rescore_live)

    def _rescore_live(self) -> None:
        self._score_scheduled = False
        if self._dirty_targets and not self.data.matrix_pending:
            targets, self._dirty_targets = self._dirty_targets, set()
            self.matrix.rescore(targets)
            self.refresh_views()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        if event.worker.group == "matrix":
            self._matrix_read(event.worker)
        elif event.worker.group == "slices":
            self._slices_built(event.worker)

    def _slices_built(self, worker: Worker[SliceView]) -> None:
        if worker.state is WorkerState.SUCCESS and worker.result is not None:
            self.slices = worker.result
            self.refresh_items()
            self.refresh_plot()
        elif worker.state is WorkerState.ERROR:
            self.notify(inert(str(worker.error)), title="Cannot build the slices", severity="error", timeout=15)

    def _matrix_read(self, worker: Worker[VerdictMatrix]) -> None:
        if worker.state is WorkerState.SUCCESS and worker.result is not None:
            self.data.matrix, self.data.matrix_pending = worker.result, False
            self.refresh_views()
        elif worker.state is WorkerState.ERROR:
            self.data.matrix_pending = False
            self.notify(inert(str(worker.error)), title="Cannot read the verdicts", severity="error", timeout=15)
            self.refresh_views()

    @on(ReplayProgress.Ended)
    def _replay_ended(self, event: ReplayProgress.Ended) -> None:
        self._dirty_targets.clear()
        self.reload_matrix()
        self.refresh_bindings()
        if event.state is WorkerState.SUCCESS:
            self.notify("Replay finished.")
            for warning in model_warnings(event.report) if event.report is not None else []:
                self.notify(inert(warning), title="Different models answered", severity="warning", timeout=15)
        elif event.state is WorkerState.CANCELLED:
            self.notify("Replay cancelled; the results that finished are kept (runs marked interrupted).")
        elif event.state is WorkerState.ERROR:
            error = event.error
            message = str(error) if isinstance(error, ModtuiError) else f"{type(error).__name__}: {error}"
            self.notify(inert(message), title="Replay failed", severity="error", timeout=15)
