"""One item: full content, metadata, expected/observed, and every verdict the log holds for it."""
from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from modtui.domain.incident import Item
from modtui.domain.masking import masked_text
from modtui.services.precedent import Match, similar_items
from modtui.services.workbench import VerdictRecord
from modtui.tui.text import cell, inert, plain


PRECEDENTS = 5


class ItemDetailScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="item.back"),
                Binding("v", "reveal", "Reveal/hide", id="item.reveal")]

    def __init__(self, incident_id: str, item: Item, history: list[VerdictRecord], mask_reason: str | None = None,
                 queue_reasons: list[str] | None = None) -> None:
        super().__init__()
        self.queue_reasons = queue_reasons  # why the item is in the review queue (opened from that filter)
        self.incident_id = incident_id
        self.item = item
        self.history = history
        self.mask_reason = mask_reason  # the wellbeing setting masks this item's content until `v`
        self.revealed = mask_reason is None
        self.title = f"{incident_id} · item {inert(item.id)}"

    def compose(self) -> ComposeResult:
        item = self.item
        yield Header()
        with VerticalScroll(id="item-detail"):
            kind = item.kind.value if item.kind else "eval"
            facts = Text.assemble(("kind ", "dim"), kind, ("   expected ", "dim"), cell(item.expected, "bold"),
                                  ("   observed in production ", "dim"), cell(item.observed or "–"))
            yield Static(facts, id="item-facts")
            if self.queue_reasons:
                yield Static("Why it is in the review queue", classes="section-title")
                yield Static(plain("\n".join(f"• {r}" for r in self.queue_reasons)), id="item-queue-reasons")
            yield Static("Content", classes="section-title")
            yield Static(self._content(), id="item-content", classes="content-box")
            if item.meta:
                yield Static("Metadata", classes="section-title")
                yield Static(plain(json.dumps(item.meta, ensure_ascii=False, indent=2, default=str)), id="item-meta")
            yield Static(f"Verdicts in the log ({len(self.history)}), newest first", classes="section-title")
            yield DataTable(id="item-verdicts", cursor_type="row", zebra_stripes=True)
            yield Static("Precedents: the most similar items in the workspace's incidents", classes="section-title")
            yield DataTable(id="item-precedents", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def _content(self) -> Text:
        if self.revealed:
            return plain(self.item.content)
        return Text(f"{masked_text(self.mask_reason or '')}: press v to reveal", style="dim italic")

    def action_reveal(self) -> None:
        if self.mask_reason is None:
            return
        self.revealed = not self.revealed
        self.query_one("#item-content", Static).update(self._content())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.mask_reason is not None if action == "reveal" else True

    def on_mount(self) -> None:
        table = self.query_one("#item-verdicts", DataTable)
        table.add_columns("time", "run", "target", "prompt", "version", "verdict", "conf", "rationale / error")
        for v in self.history:
            if v.label is not None:
                style = "green" if v.label == self.item.expected else "red"
                verdict = cell(v.label, style)
            else:
                verdict = cell(v.outcome, "yellow")
            conf = "–" if v.confidence is None else f"{v.confidence:.2f}"
            why = Text(inert(" ".join((v.rationale or v.error or "").split())))
            if v.cached:
                why = Text("(cached) ", style="dim") + why
            table.add_row(v.at[:19].replace("T", " "), f"#{v.run_id}", cell(v.target), cell(v.prompt_path),
                          cell(v.prompt_version[:8]), verdict, conf, why)
        self._start_precedents()

    # -- precedents: searched in a thread (it reads every incident's items), shown when found ---------------

    def _start_precedents(self) -> None:
        self.query_one("#item-precedents", DataTable).add_columns("score", "label", "incident", "item", "content")
        self.run_worker(self._find_precedents, thread=True, exclusive=True, group="precedents")

    def _find_precedents(self) -> None:
        matches = similar_items(self.app.ws, self.item.content, PRECEDENTS,  # type: ignore[attr-defined]
                                exclude_item=(self.incident_id, self.item.id))
        self.app.call_from_thread(self._show_precedents, matches)

    def _show_precedents(self, matches: list[Match]) -> None:
        if not self.is_attached:
            return
        table = self.query_one("#item-precedents", DataTable)
        for m in matches:
            e = m.example
            # under the wellbeing mask, other items' content stays hidden too
            preview = Text(inert(" ".join(e.content.split()))) if self.mask_reason is None else Text("(masked)", style="dim")
            table.add_row(f"{m.score:.0f}", cell(e.label), cell(e.incident_id), cell(e.item_id), preview)
