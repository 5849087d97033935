"""The workbench's items table: id, kind, expected, one ✓/✗/?/· column per target × prompt, content preview.

A Line-API widget: it keeps the items and the list of rows a filter shows, and renders only the
lines on screen. Filtering 5,000 items is a list comprehension; a result arriving repaints one
line. (A DataTable measures every cell of every row it is given: seconds for 5,000 × 20 columns.)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modtui.domain.incident import Item
from modtui.domain.masking import masked_text
from modtui.services.workbench import Result, VerdictMatrix, is_correct
from modtui.tui.text import inert

KINDS = {"false_positive": ("FP", "magenta"), "false_negative": ("FN", "yellow"), "guard": ("guard", "dim"),
         "eval": ("eval", "dim")}
FILTERS = {"all": "all", "fp": "FP", "fn": "FN", "guard": "guard", "flipped": "flipped",
           "regressed": "regressed", "no_verdict": "no verdict"}
MARKS = {True: ("✓", "bold green"), False: ("✗", "bold red"), None: ("?", "bold yellow"), "missing": ("·", "dim")}
GAP = 2            # spaces between columns
MAX_TITLE = 28     # a verdict column's header is cut to this many cells
MIN_CONTENT = 30   # the content column is at least this wide (then the table scrolls sideways)
PREVIEW = 240      # characters of content kept for the preview


def kind_of(item: Item) -> str:
    return item.kind.value if item.kind else "eval"


def matches(item: Item, which: str, matrix: VerdictMatrix) -> bool:
    kind = kind_of(item)
    return {"all": True, "fp": kind == "false_positive", "fn": kind == "false_negative", "guard": kind == "guard",
            "flipped": item.id in matrix.flipped, "regressed": item.id in matrix.regressed,
            "no_verdict": item.id in matrix.no_verdict}[which]


@dataclass(frozen=True)
class Column:
    key: str     # "id", "kind", "expected", "v:<title>", "content"
    title: str
    width: int


class ItemsTable(ScrollView, can_focus=True):
    """Posts `Selected` on enter or a click on the highlighted row, `Highlighted` when the cursor moves."""

    COMPONENT_CLASSES = {"items-table--header", "items-table--cursor", "items-table--even-row"}
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open item", id="items.open"),
    ]
    DEFAULT_CSS = """
    ItemsTable { background: $surface; color: $foreground; }
    ItemsTable:focus { background-tint: $foreground 5%; }
    ItemsTable > .items-table--header { text-style: bold; background: $panel; color: $foreground; }
    ItemsTable > .items-table--even-row { background: $surface-lighten-1 50%; }
    ItemsTable:dark > .items-table--even-row { background: $surface-darken-1 40%; }
    ItemsTable > .items-table--cursor { background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground; }
    ItemsTable:focus > .items-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                              text-style: $block-cursor-text-style; }
    """

    masked: Mapping[str, str] = {}  # set_masked(): item id → why its content is masked

    class Selected(Message):
        """Enter, or a click on the highlighted row: open the item."""

        def __init__(self, table: "ItemsTable", item_id: str) -> None:
            super().__init__()
            self.table = table
            self.item_id = item_id

        @property
        def control(self) -> "ItemsTable":
            return self.table

    class Highlighted(Message):
        """The cursor moved to an item."""

        def __init__(self, table: "ItemsTable", item_id: str) -> None:
            super().__init__()
            self.table = table
            self.item_id = item_id

        @property
        def control(self) -> "ItemsTable":
            return self.table

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.items: Sequence[Item] = ()
        self.matrix = VerdictMatrix("")
        self.rows: list[Item] = []          # what the filter shows, in incident order
        self.cursor = 0
        self.columns: list[Column] = []
        self._row_of: dict[str, int] = {}
        self._previews: dict[str, str] = {}

    # -- data ---------------------------------------------------------------------------------------

    def show(self, items: Sequence[Item], matrix: VerdictMatrix, which: str, search: str) -> int:
        """Show the items that pass a filter and a content search; returns how many are shown."""
        selected = self.selected_item_id()
        if items is not self.items or len(self.columns) != len(matrix.columns) + 4 or self._titles() != [
                c.title for c in matrix.columns]:
            self.items, self.matrix = items, matrix
            self._layout()
        self.matrix = matrix
        needle = search.lower()
        self.rows = [i for i in items if matches(i, which, matrix) and (not needle or needle in i.content.lower())]
        self._row_of = {item.id: n for n, item in enumerate(self.rows)}
        self.cursor = self._row_of.get(selected, 0) if selected is not None else 0
        self._resize()
        self.refresh()
        return len(self.rows)

    def _titles(self) -> list[str]:
        return [c.title for c in self.columns if c.key.startswith("v:")]

    def _layout(self) -> None:
        items = self.items
        id_width = min(24, max([cell_len(inert(i.id)) for i in items] + [2]))
        labels = max([len(i.expected) for i in items] + [8])
        self.columns = [Column("id", "id", id_width), Column("kind", "kind", 5), Column("expected", "expected", labels)]
        self.columns += [Column("v:" + c.title, c.title, max(1, min(MAX_TITLE, cell_len(c.title))))
                         for c in self.matrix.columns]
        self.columns.append(Column("content", "content", MIN_CONTENT))

    def _content_width(self) -> int:
        """The content column fills the width left (the vertical scrollbar's room is always kept)."""
        fixed = sum(c.width + GAP for c in self.columns[:-1])
        return max(MIN_CONTENT, self.size.width - self.styles.scrollbar_size_vertical - fixed - 1)

    def _resize(self) -> None:
        fixed = sum(c.width + GAP for c in self.columns[:-1])
        self.virtual_size = Size(fixed + self._content_width(), len(self.rows) + 1)

    def on_resize(self) -> None:
        self._resize()

    def refresh_item(self, item_id: str) -> None:
        """Repaint one item's line (a verdict arrived for it) if it is shown."""
        row = self._row_of.get(item_id)
        if row is not None:
            self.refresh_line(row + 1)

    # -- queries (for the screen and tests) -----------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def shown_ids(self) -> list[str]:
        return [item.id for item in self.rows]

    def selected_item_id(self) -> str | None:
        return self.rows[self.cursor].id if 0 <= self.cursor < len(self.rows) else None

    def mark(self, item: Item, column_title: str) -> str:
        """The mark shown for an item in a verdict column: ✓ ✗ ? or ·."""
        column = next(c for c in self.matrix.columns if c.title == column_title)
        return self._mark(item, column.results.get(item.id))[0]

    def marks(self, column_title: str) -> dict[str, str]:
        """Item id → mark of every shown row in a verdict column."""
        return {item.id: self.mark(item, column_title) for item in self.rows}

    @staticmethod
    def _mark(item: Item, result: Result | None) -> tuple[str, str]:
        return MARKS["missing"] if result is None else MARKS[is_correct(result, item.expected)]  # type: ignore[index]

    def set_masked(self, masked: Mapping[str, str]) -> None:
        """Item id → why its content is hidden (reviewer wellbeing); the preview says so instead."""
        self.masked = masked
        self.refresh()

    def preview(self, item: Item) -> str:
        if item.id in self.masked:
            return masked_text(inert(self.masked[item.id])) + " · v reveals"
        text = self._previews.get(item.id)
        if text is None:
            text = self._previews[item.id] = inert(" ".join(item.content[:PREVIEW * 2].split()))[:PREVIEW]
        return text

    # -- cursor ---------------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        old, self.cursor = self.cursor, max(0, min(len(self.rows) - 1, row))
        if old != self.cursor:
            self.refresh_line(old + 1)
            self.refresh_line(self.cursor + 1)
            self.post_message(self.Highlighted(self, self.rows[self.cursor].id))
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_jump(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        item_id = self.selected_item_id()
        if item_id is not None:
            self.post_message(self.Selected(self, item_id))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_offset.y) + event.y - 1
        if event.y < 1 or not 0 <= row < len(self.rows):
            return
        if row == self.cursor or event.chain > 1:
            self.move_cursor(row)
            self.action_select()
        else:
            self.move_cursor(row)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering ------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._line(self._header_cells(), self.get_component_rich_style("items-table--header"), width)
        row = round(self.scroll_offset.y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, base)
        style = base
        if row % 2:
            style += self.get_component_rich_style("items-table--even-row")
        if row == self.cursor:
            style += self.get_component_rich_style("items-table--cursor")
        return self._line(self._row_cells(self.rows[row]), style, width)

    def _header_cells(self) -> list[tuple[str, str]]:
        return [(c.title, "") for c in self.columns]

    def _row_cells(self, item: Item) -> list[tuple[str, str]]:
        cells = [(inert(item.id), ""), KINDS[kind_of(item)], (item.expected, "")]
        cells += [self._mark(item, c.results.get(item.id)) for c in self.matrix.columns]
        cells.append((self.preview(item), ""))
        return cells

    def _line(self, cells: list[tuple[str, str]], style: Style, width: int) -> Strip:
        """The id column stays put; the rest scrolls sideways."""
        widths = [c.width for c in self.columns[:-1]] + [self._content_width()]
        segments = [Segment(" ", style)]
        for n, ((text, cell_style), cell_width) in enumerate(zip(cells, widths)):
            fitted = text if cell_len(text) <= cell_width else set_cell_size(text, cell_width - 1) + "…"
            segments.append(Segment(set_cell_size(fitted, cell_width), style + Style.parse(cell_style) if cell_style else style))
            if n < len(widths) - 1:
                segments.append(Segment(" " * GAP, style))
        line = Strip(segments)
        pinned = 1 + widths[0] + GAP
        scroll_x = round(self.scroll_offset.x)
        if scroll_x:
            line = Strip.join([line.crop(0, pinned), line.crop(pinned + scroll_x, pinned + scroll_x + width - pinned)])
        return line.extend_cell_length(width, style).crop(0, width)
