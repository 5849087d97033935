"""The workbench's items table: id, kind, expected, one ✓/✗/?/· column per target × prompt, content preview.

A Line-API widget: it keeps the items and the list of rows a filter shows, and renders only the
lines on screen. Filtering 5,000 items is a list comprehension; a result arriving repaints one
line. (A DataTable measures every cell of every row it is given: seconds for 5,000 × 20 columns.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modtui.domain.incident import Item
from modtui.domain.masking import masked_text
from modtui.services.workbench import Result, VerdictMatrix, is_correct
from modtui.terminal import one_line
from modtui.tui.text import inert
from modtui.tui.widgets.tables import NAVIGATION, ROW_CURSOR_KEYS

KINDS = {
    "false_positive": ("FP", Style(color="magenta")),
    "false_negative": ("FN", Style(color="yellow")),
    "guard": ("guard", Style(dim=True)),
    "eval": ("eval", Style(dim=True)),
}
FILTERS = {
    "all": "all",
    "fp": "FP",
    "fn": "FN",
    "guard": "guard",
    "flipped": "flipped",
    "regressed": "regressed",
    "no_verdict": "no verdict",
    "disagreement": "annotators disagree",
    "slice": "slice",
    "queue": "review queue",
}
CHOSEN_FILTERS = frozenset({"disagreement", "slice", "queue"})  # filters whose items the screen names (`chosen`)
MARKS = {
    True: ("✓", Style(bold=True, color="green")),
    False: ("✗", Style(bold=True, color="red")),
    None: ("?", Style(bold=True, color="yellow")),
    "missing": ("·", Style(dim=True)),
}
GAP = 2  # spaces between columns
MAX_TITLE = 20  # a verdict column's header is cut to this many cells
MIN_CONTENT = 20  # the content column is at least this wide (then the table scrolls sideways)
HEADER = 2  # header lines with verdict columns: their target above, then the column names
PREVIEW = 240  # characters of content kept for the preview
NO_MATCH = "no items match: 1 shows all, / changes the search"


def kind_of(item: Item) -> str:
    return item.kind.value if item.kind else "eval"


KIND_FILTERS = {"fp": "false_positive", "fn": "false_negative", "guard": "guard"}


def matching(
    items: Sequence[Item], which: str, matrix: VerdictMatrix, chosen: Collection[str] = frozenset()
) -> list[Item]:
    """The items a filter keys shows, in incident order (`chosen`: the ids of a slice or disagreement filter)."""
    if which in CHOSEN_FILTERS:
        return [i for i in items if i.id in chosen]
    if which in KIND_FILTERS:
        kind = KIND_FILTERS[which]
        return [i for i in items if i.kind is not None and i.kind.value == kind]
    marked = {"flipped": matrix.flipped, "regressed": matrix.regressed, "no_verdict": matrix.no_verdict}.get(which)
    return list(items) if marked is None else [i for i in items if i.id in marked]


@dataclass(frozen=True)
class Column:
    key: str  # "id", "kind", "expected", "v:<target:prompt title>", "content"
    title: str  # the second header line (a verdict column's prompt)
    width: int
    group: str = ""  # the first header line (a verdict column's target)


class ItemsTable(ScrollView, can_focus=True):
    """Posts `Selected` on enter or a click on the highlighted row, `Highlighted` when the cursor moves."""

    COMPONENT_CLASSES = {"items-table--header", "items-table--cursor", "items-table--even-row"}
    BINDINGS = [
        *ROW_CURSOR_KEYS,
        Binding(
            "enter",
            "select",
            "Open item",
            id="items.open",
            show=False,
            tooltip="The item: content, metadata, every verdict",
        ),
        *NAVIGATION,
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

    class _ItemMessage(Message):
        def __init__(self, table: "ItemsTable", item_id: str) -> None:
            super().__init__()
            self.table = table
            self.item_id = item_id

        @property
        def control(self) -> "ItemsTable":
            return self.table

    class Selected(_ItemMessage):
        """Enter, or a click on the highlighted row: open the item."""

    class Highlighted(_ItemMessage):
        """The cursor moved to an item."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.items: Sequence[Item] = ()
        self.matrix = VerdictMatrix("")
        self.rows: list[Item] = []  # what the filter shows, in incident order
        self.cursor = 0
        self.columns: list[Column] = []
        self.header = 1  # lines
        self._row_of: dict[str, int] = {}
        self._previews: dict[str, str] = {}
        self._paint: tuple[int, Style, Style, Style, Style] | None = None  # width, base, header, even, cursor
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(4096)  # rendered rows, by item and look
        self._versions: dict[str, int] = {}  # bumped when an item's verdicts change

    # -- data ---------------------------------------------------------------------------------------

    def show(
        self,
        items: Sequence[Item],
        matrix: VerdictMatrix,
        which: str,
        search: str,
        chosen: Collection[str] = frozenset(),
    ) -> int:
        """Show the items that pass a filter and a content search; returns how many are shown."""
        selected = self.selected_item_id()
        if (
            items is not self.items
            or len(self.columns) != len(matrix.columns) + 4
            or self._titles() != [c.title for c in matrix.columns]
        ):
            self.items, self.matrix = items, matrix
            self._layout()
        if matrix is not self.matrix:
            self._lines.clear()
        self.matrix = matrix
        needle = search.lower()
        self.rows = matching(items, which, matrix, chosen)
        if needle:
            self.rows = [i for i in self.rows if needle in i.content.lower()]
        self._row_of = {item.id: n for n, item in enumerate(self.rows)}
        self.cursor = self._row_of.get(selected, 0) if selected is not None else 0
        self._resize()
        self.refresh()
        return len(self.rows)

    def _titles(self) -> list[str]:
        return [c.key[2:] for c in self.columns if c.key.startswith("v:")]

    def _layout(self) -> None:
        items = self.items
        ids = [i.id for i in items]
        joined = "".join(ids)
        if joined.isascii() and joined.isprintable():  # the usual ids: as wide as they are long (checked in C)
            id_width = min(24, max(2, max(map(len, ids), default=2)))
        else:
            id_width = min(24, max([cell_len(inert(i)) for i in ids] + [2]))
        labels = max([len(i.expected) for i in items] + [8])
        self.columns = [Column("id", "id", id_width), Column("kind", "kind", 5), Column("expected", "expected", labels)]
        for c in self.matrix.columns:
            prompt = one_line(c.title[len(c.target) + 1 :] if c.title.startswith(c.target + ":") else c.title)
            target = one_line(c.target)  # names from modtui.toml and prompt paths: shown through the sanitiser
            width = max(1, min(MAX_TITLE, max(cell_len(target), cell_len(prompt))))
            self.columns.append(Column("v:" + c.title, prompt, width, target))
        self.columns.append(Column("content", "content", MIN_CONTENT))
        self.header = HEADER if self.matrix.columns else 1
        self._lines.clear()

    def _content_width(self) -> int:
        """The content column fills the width left (the vertical scrollbar's room is always kept)."""
        fixed = sum(c.width + GAP for c in self.columns[:-1])
        return max(MIN_CONTENT, self.size.width - self.styles.scrollbar_size_vertical - fixed - 1)

    def _resize(self) -> None:
        fixed = sum(c.width + GAP for c in self.columns[:-1])
        size = Size(fixed + self._content_width(), len(self.rows) + self.header)
        if size != self.virtual_size:  # setting it re-lays out the screen
            self.virtual_size = size

    def on_resize(self) -> None:
        self._resize()

    def refresh_item(self, item_id: str) -> None:
        """Repaint one item's line (a verdict arrived for it) if it is shown."""
        self._versions[item_id] = self._versions.get(item_id, 0) + 1
        row = self._row_of.get(item_id)
        if row is not None:
            self.refresh_line(row + self.header)

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
    def _mark(item: Item, result: Result | None) -> tuple[str, Style]:
        return MARKS["missing"] if result is None else MARKS[is_correct(result, item.expected)]

    def set_masked(self, masked: Mapping[str, str]) -> None:
        """Item id → why its content is hidden (reviewer wellbeing); the preview says so instead."""
        self.masked = masked
        self._lines.clear()  # rendered rows show the previews
        self.refresh()

    def preview(self, item: Item) -> str:
        if item.id in self.masked:
            return masked_text(inert(self.masked[item.id])) + " · v reveals"
        text = self._previews.get(item.id)
        if text is None:
            text = self._previews[item.id] = inert(" ".join(item.content[: PREVIEW * 2].split()))[:PREVIEW]
        return text

    # -- cursor ---------------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        old, self.cursor = self.cursor, max(0, min(len(self.rows) - 1, row))
        if old != self.cursor:
            self.refresh_line(old + self.header)
            self.refresh_line(self.cursor + self.header)
            self.post_message(self.Highlighted(self, self.rows[self.cursor].id))
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - self.header)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page())

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page())

    def action_half_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(1, (self.scrollable_content_region.height - self.header) // 2))

    def action_scroll_top(self) -> None:
        self.move_cursor(0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(len(self.rows) - 1)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - self.header - 1)

    def action_select(self) -> None:
        item_id = self.selected_item_id()
        if item_id is not None:
            self.post_message(self.Selected(self, item_id))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_offset.y) + event.y - self.header
        if event.y < self.header or not 0 <= row < len(self.rows):
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """Styles and width looked up once per paint, not per line."""
        self._paint = (
            self.scrollable_content_region.width,
            self.rich_style,
            self.get_component_rich_style("items-table--header"),
            self.get_component_rich_style("items-table--even-row"),
            self.get_component_rich_style("items-table--cursor"),
        )
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        width, base, header, even, cursor = self._paint or (
            self.scrollable_content_region.width,
            self.rich_style,
            self.rich_style,
            self.rich_style,
            self.rich_style,
        )
        if y < self.header:
            return self._line(
                [(c.group if y < self.header - 1 else c.title, None) for c in self.columns], header, width
            )
        row = round(self.scroll_offset.y) + y - self.header
        if not self.rows and row == 0 and self.items:
            return (
                Strip([Segment(" " + NO_MATCH, base + Style(italic=True))])
                .extend_cell_length(width, base)
                .crop(0, width)
            )
        if row >= len(self.rows):
            return Strip.blank(width, base)
        style = base + even if row % 2 else base
        if row == self.cursor:
            style += cursor
        item = self.rows[row]
        key = (item.id, self._versions.get(item.id, 0), style, width, round(self.scroll_offset.x))
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = self._line(self._row_cells(item), style, width)
        return line

    def _row_cells(self, item: Item) -> list[tuple[str, Style | None]]:
        cells: list[tuple[str, Style | None]] = [
            (inert(item.id), None),
            KINDS[kind_of(item)],
            (one_line(item.expected), None),
        ]
        cells += [self._mark(item, c.results.get(item.id)) for c in self.matrix.columns]
        cells.append((self.preview(item), None))
        return cells

    def _line(self, cells: list[tuple[str, Style | None]], style: Style, width: int) -> Strip:
        """The id column stays put; the rest scrolls sideways."""
        widths = [c.width for c in self.columns[:-1]] + [self._content_width()]
        segments = [Segment(" ", style)]
        gap = Segment(" " * GAP, style)
        for (text, cell_style), cell_width in zip(cells, widths):
            length = cell_len(text)
            if length > cell_width:
                text, length = set_cell_size(text, cell_width - 1) + "…", cell_width
            segments.append(Segment(text + " " * (cell_width - length), style + cell_style if cell_style else style))
            segments.append(gap)
        segments.pop()
        line = Strip(segments)
        pinned = 1 + widths[0] + GAP
        scroll_x = round(self.scroll_offset.x)
        if scroll_x:
            line = Strip.join([line.crop(0, pinned), line.crop(pinned + scroll_x, pinned + scroll_x + width - pinned)])
        return line.extend_cell_length(width, style).crop(0, width)
