"""Findings & timeline: the incident's findings (open first) and what was run, found and decided, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from modtui.domain.finding import Finding
from modtui.errors import InputError
from modtui.services import findings as svc
from modtui.services.incidents import timeline
from modtui.tui.screens.finding_dialogs import FindingDialog, FindingDraft, FindingForm, ResolveDialog
from modtui.tui.text import cell, inert
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.tables import Table
from modtui.workspace import Workspace

KIND_STYLE = {"run": "cyan", "status": "yellow", "finding": "magenta", "dispute": "red"}
STATUS_STYLE = {"open": "bold yellow", "resolved": "green", "rejected": "dim", "superseded": "dim"}


class TimelineScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="timeline.back"),
        Binding(
            "f",
            "add_finding",
            "Add finding",
            id="timeline.add_finding",
            tooltip="Record a finding: root cause, summary, evidence, fix",
        ),
        Binding("x", "resolve_finding", "Resolve finding", id="timeline.resolve_finding"),
    ]

    def __init__(self, incident_id: str, draft: FindingDraft | None = None) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.draft = draft or FindingDraft()
        self.findings: list[Finding] = []
        self.title = f"{incident_id} · findings & timeline"

    @property
    def ws(self) -> Workspace:
        return self.app.ws  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="findings-title", classes="section-title")
        yield Table(id="findings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="timeline-title", classes="section-title")
        yield Table(id="timeline", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#findings", DataTable).add_columns("#", "status", "category", "author", "evidence", "summary")
        self.query_one("#timeline", DataTable).add_columns("time", "kind", "author", "what")
        self.reload()
        self.query_one("#findings" if self.findings else "#timeline", DataTable).focus()

    def reload(self) -> None:
        self.findings = svc.list_findings(self.ws, self.incident_id)
        self._show_findings()
        self._show_events()

    def _show_findings(self) -> None:
        table = self.query_one("#findings", DataTable)
        table.clear()
        open_count = sum(f.is_open for f in self.findings)
        self.query_one("#findings-title", Static).update(
            f"Findings: {open_count} open of {len(self.findings)} · f add · x resolve the highlighted one"
        )
        for f in self.findings:
            status = f.status.value + (f" → #{f.superseded_by}" if f.superseded_by else "")
            evidence = f"{len(f.items)} items, {len(f.runs)} runs" + (
                f", {len(f.corrections)} relabelled" if f.corrections else ""
            )
            table.add_row(
                str(f.id),
                Text(status, style=STATUS_STYLE.get(f.status.value, "")),
                cell(f.category),
                cell(f.author),
                evidence,
                Text(inert(" ".join(f.summary.split()))),
                key=str(f.id),
            )
        if not self.findings:
            table.add_row("", "", "", "", "", Text("no findings yet: press f to record one", style="dim"))

    def _show_events(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.clear()
        rows = timeline(self.ws, self.incident_id)
        self.query_one("#timeline-title", Static).update(f"Timeline: {len(rows)} event(s), newest first")
        for event in rows:
            table.add_row(
                event.at[:19].replace("T", " "),
                Text(event.kind, style=KIND_STYLE.get(event.kind, "")),
                cell(event.author),
                Text(inert(event.summary)),
            )
        if not rows:
            table.add_row(
                "", "", "", Text("nothing yet: replays, status changes and findings appear here", style="dim")
            )

    # -- add ----------------------------------------------------------------------------------------------

    def action_add_finding(self) -> None:
        self.app.push_screen(FindingDialog(svc.categories(self.ws), self.draft, self._try_add), self._added)

    def _try_add(self, form: FindingForm) -> int | str:
        bad_runs = [r for r in form.runs if not r.isdigit()]
        if bad_runs:
            return f"runs: '{inert(bad_runs[0])}' is not a run id"
        try:
            new = svc.NewFinding(
                self.incident_id,
                form.category,
                form.summary,
                self.ws.author(),
                form.items,
                [int(r) for r in form.runs],
                form.fix or None,
                svc.parse_corrections(form.corrections),
            )
            return svc.add(self.ws, new).id
        except InputError as exc:
            return "\n".join(inert(p.message if p.path.startswith("--") else str(p)) for p in exc.problems)

    def _added(self, finding_id: int | None) -> None:
        if finding_id is not None:
            self.reload()
            self.notify(f"Finding #{finding_id} recorded.")

    # -- resolve ------------------------------------------------------------------------------------------

    def highlighted(self) -> Finding | None:
        table = self.query_one("#findings", DataTable)
        if not self.findings or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((f for f in self.findings if str(f.id) == key), None)

    def action_resolve_finding(self) -> None:
        finding = self.highlighted()
        if finding is None:
            self.notify("No finding to resolve: press f to record one.", severity="warning")
            return
        if not finding.is_open:
            self.notify(f"Finding #{finding.id} is already {finding.status.value}.", severity="warning")
            return
        title = f"Resolve finding #{finding.id}: {inert(' '.join(finding.summary.split()))[:80]}"
        self.app.push_screen(
            ResolveDialog(title, lambda text, rejected: self._try_resolve(finding.id, text, rejected)),
            lambda done: self._resolved(finding.id, done),
        )

    def _try_resolve(self, finding_id: int, resolution: str, rejected: bool) -> str | None:
        try:
            svc.resolve(self.ws, finding_id, resolution, self.ws.author(), rejected)
        except InputError as exc:
            return "\n".join(inert(p.message) for p in exc.problems)
        return None

    def _resolved(self, finding_id: int, resolution: str | None) -> None:
        if resolution is not None:
            self.reload()
            self.notify(f"Finding #{finding_id} closed.")
