"""One item: its content, metadata, expected/observed, and every verdict the log holds for it.

A post longer than the preview (PREVIEW_CHARS characters or PREVIEW_LINES lines) shows its start, says how much
more there is, and `c` opens it whole in a pager: a `Static` wraps all of its text again on each layout and
refresh, four times per opening, and a megabyte froze the screen for seconds.

Each verdict is a block with its rationale whole (wrapped, never cut), newest first; for an item a
candidate prompt fixed or regressed, the baseline's and the candidate's verdicts side by side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from modtui.analysis.precedent import Match
from modtui.domain.incident import Item
from modtui.domain.masking import masked_text
from modtui.services.precedent import similar_items
from modtui.services.workbench import VerdictMatrix, VerdictRecord
from modtui.tui.screens.content import ContentScreen
from modtui.tui.text import cell, inert, plain
from modtui.tui.widgets.footer import KeysFooter
from modtui.tui.widgets.tables import Reader, Table

PRECEDENTS = 5
PREVIEW_CHARS = 5_000
PREVIEW_LINES = 100


def content_preview(content: str) -> str:
    """The start of `content` the detail shows: at most PREVIEW_CHARS characters and PREVIEW_LINES lines."""
    head = content[:PREVIEW_CHARS]
    lines = head.split("\n", PREVIEW_LINES)
    return "\n".join(lines[:PREVIEW_LINES]) if len(lines) > PREVIEW_LINES else head


@dataclass(frozen=True)
class FlipPair:
    """The same target's baseline and candidate verdicts on an item whose correctness changed."""

    change: str  # "fixed" | "regressed"
    baseline: VerdictRecord
    candidate: VerdictRecord


def flip_pairs(matrix: VerdictMatrix, item_id: str, history: list[VerdictRecord]) -> list[FlipPair]:
    """For each column that fixed or regressed the item: the newest verdict of it and of its baseline."""

    def newest(key: tuple[str, str]) -> VerdictRecord | None:
        return next((v for v in history if (v.target, v.prompt_version) == key), None)  # history is newest first

    pairs = []
    for column in matrix.columns:
        flips, base_key = column.flips, column.baseline_key
        if flips is None or base_key is None:
            continue
        change = "fixed" if item_id in flips.fixed else "regressed" if item_id in flips.regressed else None
        baseline, candidate = newest(base_key), newest(column.key)
        if change and baseline and candidate:
            pairs.append(FlipPair(change, baseline, candidate))
    return pairs


def verdict_text(v: VerdictRecord, expected: str, heading: str = "") -> Text:
    """A verdict as a block: who gave it, the label (✓/✗ against the expected one), the rationale whole."""
    right = v.label == expected if v.label is not None else None
    mark, style = {True: ("✓", "bold green"), False: ("✗", "bold red"), None: ("?", "bold yellow")}[right]
    text = Text()
    if heading:
        text.append(heading + "\n", style="bold")
    text.append(cell(f"{mark} {v.label if v.label is not None else v.outcome}", style))
    if v.confidence is not None:
        text.append(f"  confidence {v.confidence:.2f}", style="dim")
    if v.cached:
        text.append("  (cached)", style="dim")
    text.append("\n")
    text.append(
        cell(
            f"{v.target} · {v.prompt_path} @{v.prompt_version[:8]} · run #{v.run_id} · {v.at[:19].replace('T', ' ')}",
            "dim",
        )
    )
    text.append("\n")
    if v.rationale:
        text.append(inert(v.rationale, keep_lines=True).strip())
    elif v.error:
        text.append(inert(v.error, keep_lines=True).strip(), style="yellow")
    else:
        text.append("(no rationale given)", style="dim italic")
    if v.rules:
        text.append("\nrules cited: ", style="dim")
        for n, rule in enumerate(v.rules):
            text.append(", " if n else "")
            text.append(cell(rule, "yellow" if rule in v.unknown_rules else "cyan"))
            if rule in v.unknown_rules:
                text.append(" (not a rule of this prompt)", style="dim")
    return text


def _verdict_block(v: VerdictRecord, expected: str, heading: str = "") -> Static:
    right = None if v.label is None else v.label == expected
    look = {True: "-right", False: "-wrong", None: "-none"}[right]
    return Static(verdict_text(v, expected, heading), classes=f"verdict {look}")


class ItemDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="item.back"),
        Binding("v", "reveal", "Reveal/hide", id="item.reveal"),
        Binding("c", "whole_content", "Whole content", id="item.content"),
    ]

    def __init__(
        self,
        incident_id: str,
        item: Item,
        history: list[VerdictRecord],
        mask_reason: str | None = None,
        queue_reasons: list[str] | None = None,
        flips: list[FlipPair] | None = None,
    ) -> None:
        super().__init__()
        self.queue_reasons = queue_reasons  # why the item is in the review queue (opened from that filter)
        self.incident_id = incident_id
        self.item = item
        self.history = history
        self.flips = flips or []
        self.mask_reason = mask_reason  # the wellbeing setting masks this item's content until `v`
        self.revealed = mask_reason is None
        self.preview = content_preview(item.content)
        self.title = f"{incident_id} · item {inert(item.id)}"

    def compose(self) -> ComposeResult:
        item = self.item
        yield Header()
        with Reader(id="item-detail"):
            kind = item.kind.value if item.kind else "eval"
            facts = Text.assemble(
                ("kind ", "dim"),
                kind,
                ("   expected ", "dim"),
                cell(item.expected, "bold"),
                ("   observed in production ", "dim"),
                cell(item.observed or "–"),
            )
            yield Static(facts, id="item-facts")
            if self.queue_reasons:
                yield Static("Why it is in the review queue", classes="section-title")
                yield Static(plain("\n".join(f"• {r}" for r in self.queue_reasons)), id="item-queue-reasons")
            yield Static("Content", classes="section-title")
            yield Static(self._content(), id="item-content", classes="content-box")
            if self.flips:
                yield Static("Flipped: the baseline's verdict beside the candidate's", classes="section-title")
                for pair in self.flips:
                    with Horizontal(classes="flip-pair"):
                        yield _verdict_block(pair.baseline, item.expected, "baseline")
                        yield _verdict_block(pair.candidate, item.expected, f"candidate · {pair.change}")
            yield Static(f"Verdicts in the log ({len(self.history)}), newest first", classes="section-title")
            with Vertical(id="item-verdicts"):
                for v in self.history:
                    yield _verdict_block(v, item.expected)
                if not self.history:
                    yield Static("No verdicts yet: r in the workbench replays the incident.", classes="hint")
            if item.meta:
                yield Static("Metadata", classes="section-title")
                yield Static(plain(json.dumps(item.meta, ensure_ascii=False, indent=2, default=str)), id="item-meta")
            yield Static("Precedents: the most similar items in the workspace's incidents", classes="section-title")
            yield Table(id="item-precedents", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    @property
    def cut(self) -> bool:
        """The detail shows only the start of the content."""
        return len(self.preview) < len(self.item.content)

    def _content(self) -> Text:
        if not self.revealed:
            return Text(f"{masked_text(self.mask_reason or '')}: press v to reveal", style="dim italic")
        text = plain(self.preview)
        if self.cut:
            total, more = len(self.item.content), len(self.item.content) - len(self.preview)
            text.append(f"\n… {more:,} more characters ({total:,} in all): c shows the whole content", "dim italic")
        return text

    def action_reveal(self) -> None:
        if self.mask_reason is None:
            return
        self.revealed = not self.revealed
        self.query_one("#item-content", Static).update(self._content())
        self.refresh_bindings()

    def action_whole_content(self) -> None:
        if self.revealed:
            self.app.push_screen(ContentScreen(self.incident_id, self.item))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self.mask_reason is not None
        if action == "whole_content":
            return self.cut and self.revealed
        return True

    def on_mount(self) -> None:
        self.query_one(Reader).focus()
        self._start_precedents()

    # -- precedents: searched in a thread (it reads every incident's items), shown when found ---------------

    def _start_precedents(self) -> None:
        self.query_one("#item-precedents", Table).add_columns("score", "label", "incident", "item", "content")
        self.run_worker(self._find_precedents, thread=True, exclusive=True, group="precedents")

    def _find_precedents(self) -> None:
        matches = similar_items(
            self.app.ws,  # type: ignore[attr-defined]
            self.item.content,
            PRECEDENTS,
            exclude_item=(self.incident_id, self.item.id),
        )
        self.app.call_from_thread(self._show_precedents, matches)

    def _show_precedents(self, matches: list[Match]) -> None:
        if not self.is_attached:
            return
        table = self.query_one("#item-precedents", Table)
        for m in matches:
            e = m.example
            # under the wellbeing mask, other items' content stays hidden too
            preview = (
                Text(inert(" ".join(e.content.split()))) if self.mask_reason is None else Text("(masked)", style="dim")
            )
            table.add_row(f"{m.score:.0f}", cell(e.label), cell(e.incident_id), cell(e.item_id), preview)
