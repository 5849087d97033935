"""The metrics tab's slice view: the highlighted run's metrics cut by a key (kind, cluster, a meta field),
most errors first, with 95 % intervals; small slices dimmed. `b` chooses the next key; enter shows the
slice's items in the items table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from modtui.analysis.intervals import with_interval
from modtui.analysis.slices import Slice
from modtui.tui.text import cell
from modtui.tui.widgets.tables import Table

HEADERS = ("slice", "items", "FP", "FN", "precision [95% CI]", "recall [95% CI]")


class SlicesTable(Table):
    """Rows are slices; the row key is the slice key. A Table: j/k, g/G, home/end, ctrl+d/ctrl+u as everywhere."""

    BINDINGS = [
        Binding("b", "next_key", "Slice by", id="slices.next_key", tooltip="Cut the metrics by the next key"),
    ]

    class KeyCycled(Message):
        """`b`: the user asks for the next slice key."""

    class Chosen(Message):
        """Enter on a slice: show its items."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for header in HEADERS:
            self.add_column(header, key=header)

    def show(self, slices: Sequence[Slice]) -> None:
        keep = self.highlighted_key()
        self.clear()
        for s in slices:
            self.add_row(*self._cells(s), key=s.key)
        keys = [s.key for s in slices]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False, scroll=False)

    def highlighted_key(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @staticmethod
    def _cells(s: Slice) -> list[Text]:
        m = s.metrics
        style = "dim" if s.small else ""
        numbers = [
            str(m.items),
            str(m.fp),
            str(m.fn),
            with_interval(m.precision, m.precision_ci, "–"),
            with_interval(m.recall, m.recall_ci, "–"),
        ]
        return [cell(s.key, style), *(Text(n, style=style) for n in numbers)]

    def action_next_key(self) -> None:
        self.post_message(self.KeyCycled())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Chosen(event.row_key.value))
