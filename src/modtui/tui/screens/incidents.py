"""The incidents list: type to filter, Enter opens the workbench, sort by severity or last activity."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from modtui.domain.incident import IncidentKind
from modtui.services.incidents import SEVERITY_ORDER, IncidentSummary, summaries
from modtui.tui.text import inert
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.tables import Table, typing_in

SEVERITY_STYLE = {"SEV1": "bold red", "SEV2": "red", "SEV3": "yellow", "SEV4": "dim"}
SORTS = {"severity": "severity", "activity": "last activity"}
# beside the title, in order: key, label, content width; below WIDE columns the ones in NARROW_HIDES go
COLUMNS = [
    ("id", "id", 8),
    ("severity", "sev", 4),
    ("status", "status", 13),
    ("items", "FP/FN/guard", 11),
    ("findings", "findings", 8),
    ("activity", "last activity", 16),
]
NARROW_HIDES = {"findings", "activity"}
WIDE = 100


# Enter is the table's and the filter box's own key (both say "Open"), not a priority binding of the screen: keys
# that arrive in one burst (a fast typist, a paste, tmux send-keys) reach the table in order, so "down down enter"
# opens the third row, where a priority binding ran before the queued cursor keys and opened the first.
class IncidentTable(Table):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="incidents.open")]  # DataTable.RowSelected


class IncidentFilter(Input):
    BINDINGS = [Binding("enter", "submit", "Open", id="incidents.open")]  # Input.Submitted


class IncidentsScreen(Screen[None]):
    TITLE = "Incidents"
    BINDINGS = [
        Binding("f2", "sort('severity')", "By severity", id="incidents.sort_severity"),
        Binding("f3", "sort('activity')", "By activity", id="incidents.sort_activity"),
        Binding("slash", "focus_filter", "Filter", id="incidents.filter", key_display="/"),
        Binding("f5", "reload", "Reload", id="incidents.reload"),
        Binding(
            "escape",
            "back",
            "Back",
            id="incidents.back",
            show=False,
            tooltip="Leave the filter box; on the table, clear the filter",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[IncidentSummary] = []
        self.sort_by = "severity"
        self._title_width = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield IncidentFilter(
            placeholder="type to filter: id, title, policy, status…", id="incident-filter", select_on_focus=False
        )  # typing on the table moves here: the next key appends
        yield Static("", id="incident-notice", classes="notice")
        yield IncidentTable(id="incidents", cursor_type="row", zebra_stripes=True)
        yield Static("", id="incidents-empty", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.action_reload()
        self.query_one("#incidents", DataTable).focus()

    def on_resize(self) -> None:
        if self.summaries:
            self.refill()

    def _columns(self, table: DataTable[object]) -> int:
        """(Re)create the columns for the screen's width; returns the title's width (the rest fits beside it)."""
        narrow = self.size.width < WIDE
        shown = [(key, label, width) for key, label, width in COLUMNS if not (narrow and key in NARROW_HIDES)]
        others = sum(width + 2 for _key, _label, width in shown) + 2 + 2  # cell padding, title padding, scrollbar
        longest = max([cell_len(inert(s.incident.title)) for s in self.summaries] + [16])
        title = max(16, min(longest, self.size.width - others))
        if [str(c.key.value) for c in table.columns.values()] != ["id", "title"] + [
            k for k, _l, _w in shown[1:]
        ] or self._title_width != title:
            table.clear(columns=True)
            table.add_column("id", key="id")
            table.add_column("title", key="title", width=title)
            for key, label, _width in shown[1:]:
                table.add_column(label, key=key)
            self._title_width = title
        return title

    def action_reload(self) -> None:
        self.summaries, problems = summaries(self.app.ws)  # type: ignore[attr-defined]
        notice = self.query_one("#incident-notice", Static)
        if problems:
            first = "; ".join(inert(str(p)) for p in problems[:2])
            more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
            notice.update(Text(f"⚠ {len(problems)} problem(s) in incident files: {first}{more}"))
        notice.display = bool(problems)
        self.refill()

    def refill(self) -> None:
        table = self.query_one("#incidents", DataTable)
        needle = self.query_one("#incident-filter", Input).value.strip().lower()
        rows = [s for s in self.summaries if not needle or needle in _haystack(s)]
        if self.sort_by == "activity":
            rows.sort(key=lambda s: s.last_activity or "", reverse=True)
        else:
            rows.sort(key=lambda s: (SEVERITY_ORDER[s.incident.severity.value], s.incident.id))
        selected = self.selected_id()
        width = self._columns(table)
        table.clear()
        keys = [str(c.key.value) for c in table.columns.values()]
        for s in rows:
            inc = s.incident
            title = Text(inert(inc.title))
            title.truncate(width, overflow="ellipsis")
            cells = {
                "id": inc.id,
                "title": title,
                "severity": Text(inc.severity.value, style=SEVERITY_STYLE[inc.severity.value]),
                "status": inc.status.value,
                "items": _item_counts(s),
                "findings": str(s.open_findings),
                "activity": (s.last_activity or "")[:16].replace("T", " "),
            }
            table.add_row(*(cells[k] for k in keys), key=inc.id)
        if selected and selected in {s.incident.id for s in rows}:
            table.move_cursor(row=table.get_row_index(selected))
        empty = self.query_one("#incidents-empty", Static)
        empty.display = bool(self.summaries) and not rows
        empty.update(Text(f"no incidents match “{inert(needle)}”: escape clears the filter"))
        self.sub_title = f"{len(rows)} of {len(self.summaries)} · sorted by {SORTS[self.sort_by]}"

    def selected_id(self) -> str | None:
        table = self.query_one("#incidents", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(Input.Changed, "#incident-filter")
    def _filter(self) -> None:
        self.refill()

    @on(DataTable.RowSelected, "#incidents")
    @on(Input.Submitted, "#incident-filter")
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        incident_id = self.selected_id()
        if incident_id:
            self.app.open_incident(incident_id)  # type: ignore[attr-defined]

    def action_sort(self, by: str) -> None:
        self.sort_by = by
        self.refill()

    def on_key(self, event: events.Key) -> None:
        """Typing on the table starts the filter: printable keys that no binding claims (q, ?, j, k… keep theirs)."""
        filter_input = self.query_one("#incident-filter", Input)
        if self.focused is filter_input:
            if event.key == "down":
                event.stop()
                self.query_one("#incidents", DataTable).focus()
            return
        if not event.is_printable or not event.character or event.key in self.active_bindings:
            return
        event.stop()
        filter_input.focus()
        filter_input.insert_text_at_cursor(event.character)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter" and typing_in(self.focused):
            return False  # "/" is typed into the filter there (Textual does not filter the slash key out of the footer)
        return True

    def action_back(self) -> None:
        filter_input = self.query_one("#incident-filter", Input)
        if self.focused is filter_input:
            self.query_one("#incidents", DataTable).focus()
        elif filter_input.value:
            filter_input.value = ""

    @on(DataTable.HeaderSelected, "#incidents")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value in ("severity", "activity"):
            self.action_sort(event.column_key.value)

    def action_focus_filter(self) -> None:
        self.query_one("#incident-filter", Input).focus()

    def on_screen_resume(self) -> None:
        if self.summaries:
            self.action_reload()


def _item_counts(s: IncidentSummary) -> str:
    """FP/FN/guard; an incident of only unlabelled-by-kind items (a production sample, an eval set) says how many."""
    c = s.counts
    if not (c["false_positive"] or c["false_negative"] or c["guard"]) and c["eval"]:
        return f"{c['eval']:,} " + ("sample" if s.incident.kind is IncidentKind.SAMPLE else "eval")
    return f"{c['false_positive']}/{c['false_negative']}/{c['guard']}"


def _haystack(s: IncidentSummary) -> str:
    inc = s.incident
    return " ".join((inc.id, inc.title, inc.policy, inc.status.value, inc.severity.value, *inc.tags)).lower()
