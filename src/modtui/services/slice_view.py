"""What the workbench's slice view and its item filters hold: the key the metrics are cut by, the slice
chosen to filter the items table, and the items whose annotators disagree. No UI: the TUI renders it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modtui.analysis.agreement import agreement
from modtui.analysis.metrics import ScoredItem
from modtui.analysis.slices import MIN_N, Keying, Slice, several, slice_metrics
from modtui.domain.incident import Item
from modtui.services.slices import RULE, item_facts, keying, members, slice_keys

Citations = Mapping[str, Sequence[str]]  # item id → the rules a column's verdict on it cited


class SliceView:
    def __init__(self, items: Sequence[Item], min_n: int = MIN_N) -> None:
        self.facts = item_facts(items)
        self.keys = slice_keys(self.facts)
        self.by = self.keys[0]
        self.min_n = min_n
        self._keyings: dict[str, Keying] = {}
        self.chosen_key: str | None = None  # the slice the items table shows (filter "slice")
        self.chosen_by = self.by
        self.chosen_ids: frozenset[str] = frozenset()
        self.disagreements = frozenset(
            agreement({f.item_id: f.annotations for f in self.facts if f.annotations}).disagreements
        )

    def keying(self, by: str, cited: Citations | None = None) -> Keying:
        if by == RULE:  # per verdict column, not per item: never cached here
            return several(cited or {})
        if by not in self._keyings:  # a cut by cluster compares every pair of texts: once per screen
            self._keyings[by] = keying(self.facts, by)
        return self._keyings[by]

    def next_key(self) -> str:
        self.by = self.keys[(self.keys.index(self.by) + 1) % len(self.keys)]
        return self.by

    def of(self, scored: Sequence[ScoredItem], positive: str, cited: Citations | None = None) -> list[Slice]:
        """The scored items' metrics per slice of the current key, most errors first (`cited`: for `rule`)."""
        if not scored:
            return []
        return slice_metrics(scored, self.keying(self.by, cited), positive, self.min_n, cited_fp=self.by == RULE)

    def choose(self, key: str, cited: Citations | None = None, scored: Sequence[ScoredItem] = ()) -> None:
        """Slice `key` of the current cut is what the items table shows: the `scored` items in it (those its metrics
        counted: a run over part of the incident leaves the rest out), or every item in it without `scored`."""
        self.chosen_key, self.chosen_by = key, self.by
        self.chosen_ids = members(self.facts, self.keying(self.by, cited), key)
        if scored:
            self.chosen_ids &= {item.item_id for item in scored}

    def chosen(self, which: str) -> frozenset[str]:
        """The ids a "slice" or "disagreement" filter shows (empty for the others)."""
        return {"slice": self.chosen_ids, "disagreement": self.disagreements}.get(which, frozenset())

    def filter_title(self, which: str, default: str) -> str:
        if which == "slice" and self.chosen_key is not None:
            return f"slice {self.chosen_by} = {self.chosen_key}"
        return default
