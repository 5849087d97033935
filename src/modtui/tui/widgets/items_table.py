"""The workbench's items table: kind, expected, one ✓/✗/? column per target × prompt, content preview."""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from modtui.domain.incident import Item
from modtui.services.workbench import VerdictMatrix, is_correct
from modtui.tui.text import preview

KIND_SHORT = {"false_positive": Text("FP", style="magenta"), "false_negative": Text("FN", style="yellow"),
              "guard": Text("guard", style="dim"), "eval": Text("eval", style="dim")}
FILTERS = {"all": "all", "fp": "FP", "fn": "FN", "guard": "guard", "flipped": "flipped",
           "regressed": "regressed", "no_verdict": "no verdict"}
RIGHT, WRONG, NONE, MISSING = Text("✓", style="bold green"), Text("✗", style="bold red"), Text("?", style="bold yellow"), Text("·", style="dim")


def matches(item: Item, which: str, matrix: VerdictMatrix) -> bool:
    kind = item.kind.value if item.kind else "eval"
    return {"all": True, "fp": kind == "false_positive", "fn": kind == "false_negative", "guard": kind == "guard",
            "flipped": item.id in matrix.flipped, "regressed": item.id in matrix.regressed,
            "no_verdict": item.id in matrix.no_verdict}[which]


class ItemsTable(DataTable[Text]):
    """Virtualised: one row per item, cells re-rendered only when a verdict changes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns_shown: tuple[str, ...] = ()

    def show(self, items: Sequence[Item], matrix: VerdictMatrix, which: str, search: str) -> int:
        """Rebuild the rows for a filter and search; returns how many items are shown."""
        needle = search.lower()
        rows = [i for i in items if matches(i, which, matrix) and (not needle or needle in i.content.lower())]
        selected = self.selected_item_id()
        titles = tuple(c.title for c in matrix.columns)
        self.clear(columns=titles != self._columns_shown or not self.columns)
        if not self.columns:
            self.add_column("id", key="id")
            self.add_column("kind", key="kind")
            self.add_column("expected", key="expected")
            for column in matrix.columns:
                self.add_column(column.title, key="v:" + column.title)
            self.add_column("content", key="content")
            self._columns_shown = titles
        for item in rows:
            verdicts = [self._verdict(item, c.results.get(item.id)) for c in matrix.columns]
            self.add_row(Text(item.id), KIND_SHORT[item.kind.value if item.kind else "eval"], Text(item.expected),
                         *verdicts, preview(item.content, 120), key=item.id)
        if selected is not None and selected in {i.id for i in rows}:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)
        return len(rows)

    @staticmethod
    def _verdict(item: Item, result: object) -> Text:
        if result is None:
            return MISSING
        ok = is_correct(result, item.expected)  # type: ignore[arg-type]
        return NONE if ok is None else RIGHT if ok else WRONG

    def selected_item_id(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
