"""A post of a megabyte in the TUI: the item detail shows its start, `c` reads it whole in a pager, escapes stay
inert, and neither screen wraps the whole text more than once per width (a `Static` did it on every layout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

from conftest import until
from modtui.tui.app import create_app
from modtui.tui.screens.content import ContentScreen
from modtui.tui.screens.item_detail import PREVIEW_CHARS, PREVIEW_LINES, ItemDetailScreen, content_preview
from modtui.tui.screens.workbench import WorkbenchScreen
from modtui.tui.widgets import pager as pager_module
from modtui.tui.widgets.pager import Pager, wrap_lines
from modtui.workspace import Workspace
from reliability_support import add_incident
from test_tui_loop import visible_text
from test_untrusted_content import raw_controls

BIG = 1_000_000
FIRST, LAST = "FIRST-MARK", "LAST-MARK-OF-THE-POST"
ESCAPES = "\x1b]52;c;cGF5bG9hZA==\x07 \x1b[2J \u202eevil\u202c \x9b31m"


def big_post(i: int) -> str:
    """Item 0: a megabyte of paragraphs, escapes near the start and the end; the others short."""
    if i:
        return f"item-{i:05d} nice day"
    paragraph = "lorem ipsum dolor sit amet, you idiot " * 60
    body = "\n\n".join(f"[paragraph {n}] {paragraph}" for n in range(BIG // len(paragraph) + 1))
    tail = f" {ESCAPES} {LAST}"
    return f"{FIRST} {ESCAPES}\n{body}"[: BIG - len(tail)] + tail


def open_big(workspace: Path, meta: dict[str, Any] | None = None) -> Any:
    add_incident(workspace, "INC-BIG", 3, big_post)
    if meta:
        items = workspace / "incidents" / "INC-BIG" / "items.jsonl"
        rows = [json.loads(line) for line in items.read_text().splitlines()]
        rows[0]["meta"] = meta
        items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return create_app(Workspace.open(workspace), "INC-BIG")


async def open_detail(pilot: Any) -> ItemDetailScreen:
    await pilot.press("enter")
    await until(lambda: isinstance(pilot.app.screen, ItemDetailScreen), what="the item detail opens")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ItemDetailScreen) and screen.item.id == "r-00000"
    return screen


def shown(pilot: Any) -> str:
    return visible_text(pilot.app)


# ------------------------------------------------------------------ wrapping


def test_wrap_lines_keeps_every_character_within_the_width() -> None:
    text = "a few words here\n\n" + "x" * 25 + "\nword " * 3 + "\n漢字かな交じり文漢字 wide\tafter a tab"
    lines = wrap_lines(text, 10)
    assert lines[:3] == ["a few", "words here", ""]
    assert lines[3:6] == ["x" * 10, "x" * 10, "x" * 5]  # a word longer than the width is cut where the width ends
    assert all(cell_len(line) <= 10 for line in lines), [(line, cell_len(line)) for line in lines]
    assert "漢字かな交" in lines  # wide characters: five of them fill ten cells
    assert "after a" in " ".join(lines) and "\t" not in "".join(lines)  # tabs expanded
    # nothing lost but the spaces the wrap breaks at
    assert "".join(lines).replace(" ", "") == text.replace("\t", "").replace("\n", "").replace(" ", "")


def test_wrap_lines_of_a_megabyte() -> None:
    post = big_post(0)
    lines = wrap_lines(post, 114)
    assert lines[0].startswith(FIRST) and lines[-1].endswith(LAST)
    assert max(map(len, lines)) <= 114 and len(lines) > BIG // 114
    assert wrap_lines("x" * BIG, 100) == ["x" * 100] * (BIG // 100)
    assert wrap_lines("\n" * 5, 3) == [""] * 6


def test_content_preview_is_bounded_in_characters_and_lines() -> None:
    assert content_preview("short post\nsecond line") == "short post\nsecond line"
    assert content_preview("y" * (PREVIEW_CHARS + 1)) == "y" * PREVIEW_CHARS
    many = "\n".join(f"line {n}" for n in range(PREVIEW_LINES * 2))
    assert content_preview(many) == "\n".join(f"line {n}" for n in range(PREVIEW_LINES))


# ------------------------------------------------------------------ the screens


async def test_megabyte_post_read_whole_in_the_pager(workspace: Path) -> None:
    """The detail shows the start and how much more there is; `c` reads it all, to the last line; escapes inert;
    leave, come back, read again."""
    app = open_big(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        for visit in range(2):
            detail = await open_detail(pilot)
            content = str(detail.query_one("#item-content", Static).render())
            assert content.startswith(FIRST) and LAST not in content
            assert f"{BIG - PREVIEW_CHARS:,} more characters ({BIG:,} in all): c shows the whole content" in content
            assert "\\x1b]52;c;" in content and "\\u202e" in content and not raw_controls(content)
            assert "c Whole content" in shown(pilot)
            await pilot.press("c")
            assert isinstance(app.screen, ContentScreen)
            pager = app.screen.query_one(Pager)
            assert app.focused is pager and f"{BIG:,} characters" in shown(pilot)
            assert FIRST in shown(pilot) and LAST not in shown(pilot)
            await pilot.press("G" if visit == 0 else "end")
            await until(lambda p=pager: p.scroll_y == p.max_scroll_y > 0, what="the pager at its end")
            await pilot.pause()
            screen_text = shown(pilot)
            assert LAST in screen_text and "\\x1b[2J \\u202eevil\\u202c \\x9b31m" in screen_text, screen_text
            lines = f"{len(pager.lines):,}"
            assert app.screen.sub_title == f"line {lines}/{lines} (100%) · {BIG:,} characters"
            assert not raw_controls(screen_text) and not raw_controls("".join(pager.lines))
            page = pager.scrollable_content_region.height
            if visit == 0:  # less and vim keys, then the cursor keys
                await pilot.press("g", "pagedown", "j", "j", "k")
                await until(lambda p=pager, page=page: p.scroll_y == page + 1, what="a page and a line down")
            else:
                await pilot.press("home", "ctrl+d", "down", "down", "ctrl+u")
                await until(lambda p=pager: p.scroll_y == 2, what="half a page and two lines down, half a page up")
            await pilot.press("q" if visit == 0 else "escape")
            assert app.screen is detail
            await pilot.press("escape")
            assert isinstance(app.screen, WorkbenchScreen)
        assert not app._notifications


@pytest.fixture
def counted_wraps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of each text longer than the preview that Textual wraps (to measure or to draw it)."""
    lengths: list[int] = []
    wrap = Content._wrap_and_format

    def counting(self: Content, width: int, *args: Any, **kwargs: Any) -> Any:
        if len(self) > 2 * PREVIEW_CHARS:
            lengths.append(len(self))
        return wrap(self, width, *args, **kwargs)

    monkeypatch.setattr(Content, "_wrap_and_format", counting)
    return lengths


async def test_the_detail_never_wraps_the_whole_post(workspace: Path, counted_wraps: list[int]) -> None:
    """Open, scroll, resize, leave, open again: the detail wraps only its preview (a Static holding the whole post
    wrapped all of it four times per opening and per resize)."""
    app = open_big(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(2):
            await open_detail(pilot)
            await pilot.press("G", "ctrl+u")
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            await pilot.resize_terminal(120, 36)
            await pilot.pause()
            await pilot.press("escape")
    assert counted_wraps == []


async def test_the_pager_wraps_once_per_width(
    workspace: Path, counted_wraps: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    widths: list[int] = []
    wrap = pager_module.wrap_lines

    def counting(text: str, width: int) -> list[str]:
        widths.append(width)
        return wrap(text, width)

    monkeypatch.setattr(pager_module, "wrap_lines", counting)
    app = open_big(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_detail(pilot)
        await pilot.press("c")
        pager = app.screen.query_one(Pager)
        await pilot.press("pagedown", "G", "g", "j", "ctrl+d")
        await pilot.pause()
        assert len(widths) == 1 and widths[0] == pager.scrollable_content_region.width
        middle = len(pager.lines) // 2
        pager.scroll_to(y=middle, animate=False, immediate=True)
        seen = pager.lines[middle]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert len(widths) == 2 and widths[1] == pager.scrollable_content_region.width < widths[0]
        assert seen.split()[1] in " ".join(pager.lines[pager.scroll_y - 2 : pager.scroll_y + 4])  # still in view
        await pilot.press("pagedown", "k")
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        await pilot.press("escape", "c")  # a new pager: wrapped once more
        await pilot.pause()
        assert len(widths) == 4
    assert counted_wraps == []


async def test_whole_content_key_only_for_a_cut_post_and_once_revealed(workspace: Path) -> None:
    config = workspace / "modtui.toml"
    config.write_text(config.read_text().replace("[workspace]\n", '[workspace]\nmask_meta_tags = ["graphic"]\n'))
    app = open_big(workspace, meta={"graphic": True})
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("v")  # the workbench masks it too: reveal there, to open it masked in the detail
        await pilot.press("v")
        detail = await open_detail(pilot)
        assert detail.check_action("whole_content", ()) is False and "c Whole content" not in shown(pilot)
        await pilot.press("c")  # masked: the post stays hidden
        assert app.screen is detail and FIRST not in shown(pilot)
        await pilot.press("v")
        assert detail.check_action("whole_content", ()) is True
        await pilot.press("c")
        assert isinstance(app.screen, ContentScreen)
        await pilot.press("escape", "escape", "down", "enter")  # a short post: nothing more to read
        short = app.screen
        assert isinstance(short, ItemDetailScreen) and short.item.id == "r-00001"
        assert short.check_action("whole_content", ()) is False
        await pilot.press("c")
        assert app.screen is short
