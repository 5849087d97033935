"""TUI benchmark: the item detail and the content pager on a post of a megabyte, beside a short post (the ideal).

    .venv/bin/python bench/detail.py [--chars 1000000] [--size 120x36] [--repeat 3] [--profile out.prof]

Builds a temporary workspace with one incident of three items (item 0 of --chars characters in paragraphs of
words, the others a few words), then, headless (Textual's Pilot driving the real app), for the big item and a
short one, each --repeat times:
  detail   `enter` on the item → the detail's first frame written; "+ precedents": until its precedent search
           (a thread) has shown its rows
  pager    `c` → the pager's first frame (big item only)
  G        the pager's last line → the frame
  resize   the terminal to 80x24 and back → the frame after each
and the big item once more with the preview turned off, its whole text in the detail's `Static` (the detail as it
was before the preview and the pager): the cost they avoid, measured in the same run.
CPU is the process's (user + sys, threads included), beside wall; the load average is printed. Goals: the
detail of the big post within 2× the short one's CPU; the pager's open, G and resize each under 0.1 s of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "tests" / "data" / "workspace"
INCIDENT = "INC-BIG"


def big_post(chars: int) -> str:
    paragraph = "grobniks are vermin and should be driven out of Kingsport, every last one of them " * 25
    body = "\n\n".join(f"[paragraph {n}] {paragraph}" for n in range(chars // len(paragraph) + 1))
    return body[: chars - 9] + "\nLAST-LINE"


def build_workspace(root: Path, chars: int) -> None:
    shutil.copytree(WORKSPACE, root)
    folder = root / "incidents" / INCIDENT
    folder.mkdir()
    header = (root / "incidents" / "INC-T1" / "incident.yaml").read_text().replace("id: INC-T1", f"id: {INCIDENT}")
    (folder / "incident.yaml").write_text(header)
    contents = [big_post(chars), "a short post, nice day", "another short post"]
    with (folder / "items.jsonl").open("w") as out:
        for i, content in enumerate(contents):
            row = {"id": f"b-{i}", "content": content, "expected": "ok", "observed": "toxic"}
            out.write(json.dumps(row) + "\n")


class Frames:
    """Counts the frames the app writes (its `_display`), so a step ends when its frame is out."""

    def __init__(self, app: Any) -> None:
        self.written: list[tuple[type, float, float]] = []  # (screen class, wall, CPU) of each frame
        display = app._display

        def counted(screen: Any, update: Any) -> None:
            display(screen, update)
            self.written.append((type(screen), time.perf_counter(), time.process_time()))

        app._display = counted

    async def after(self, step: Callable[[], Awaitable[object] | None], on: type | None = None) -> tuple[float, float]:
        """(wall, CPU) seconds from `step` to the next frame written (of a screen of class `on`)."""
        started, started_cpu, before = time.perf_counter(), time.process_time(), len(self.written)
        result = step()
        if result is not None:
            await result
        while True:
            frame = next((f for f in self.written[before:] if on is None or f[0] is on), None)
            if frame is not None:
                return frame[1] - started, frame[2] - started_cpu
            await asyncio.sleep(0.001)


async def measure_app(ws: Any, size: tuple[int, int], row: int, big: bool) -> dict[str, tuple[float, float]]:
    from modtui.tui.app import create_app
    from modtui.tui.screens.content import ContentScreen
    from modtui.tui.screens.item_detail import ItemDetailScreen
    from modtui.tui.widgets.tables import Table

    app = create_app(ws, INCIDENT)
    out: dict[str, tuple[float, float]] = {}
    async with app.run_test(size=size) as pilot:
        frames = Frames(app)
        await pilot.pause()
        for _ in range(row):
            await pilot.press("down")
        await pilot.pause()
        started, started_cpu = time.perf_counter(), time.process_time()
        out["detail"] = await frames.after(lambda: pilot.press("enter"), on=ItemDetailScreen)
        assert isinstance(app.screen, ItemDetailScreen)
        precedents = app.screen.query_one("#item-precedents", Table)
        while precedents.row_count == 0:
            await asyncio.sleep(0.001)
        out["detail + precedents"] = (time.perf_counter() - started, time.process_time() - started_cpu)
        await pilot.pause()
        if big:
            out["pager"] = await frames.after(lambda: pilot.press("c"), on=ContentScreen)
            assert isinstance(app.screen, ContentScreen)
            await pilot.pause()
            out["G"] = await frames.after(lambda: pilot.press("G"))
            await pilot.pause()
        narrow = await frames.after(lambda: pilot.resize_terminal(80, 24))
        await pilot.pause()
        wide = await frames.after(lambda: pilot.resize_terminal(*size))
        out["resize"] = (narrow[0] + wide[0], narrow[1] + wide[1])
    return out


async def measure_whole_in_the_detail(ws: Any, size: tuple[int, int]) -> dict[str, tuple[float, float]]:
    """The detail as it was: its `Static` holding the whole post (no preview, so no pager)."""
    from modtui.tui.screens import item_detail

    preview = item_detail.content_preview
    item_detail.content_preview = lambda content: content
    try:
        return await measure_app(ws, size, 0, big=False)
    finally:
        item_detail.content_preview = preview


def report(name: str, runs: list[dict[str, tuple[float, float]]]) -> None:
    for step in runs[0]:
        wall = statistics.median(r[step][0] for r in runs)
        cpu = statistics.median(r[step][1] for r in runs)
        print(f"  {name:38s} {step:20s} wall {wall * 1000:7.0f} ms   CPU {cpu * 1000:7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=1_000_000)
    parser.add_argument("--size", default="120x36")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the big item's runs here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from modtui.workspace import Workspace

    size = tuple(int(v) for v in args.size.split("x"))
    assert len(size) == 2
    print(f"load average at the start {os.getloadavg()[0]:.2f}; {args.repeat} runs each, medians; size {args.size}")
    with tempfile.TemporaryDirectory(prefix="modtui-bench-detail-") as tmp:
        root = Path(tmp) / "ws"
        build_workspace(root, args.chars)
        ws = Workspace.open(root)
        short = [asyncio.run(measure_app(ws, size, 1, big=False)) for _ in range(args.repeat)]
        profile = cProfile.Profile() if args.profile else None
        if profile:
            profile.enable()
        big = [asyncio.run(measure_app(ws, size, 0, big=True)) for _ in range(args.repeat)]
        if profile:
            profile.disable()
        old = [asyncio.run(measure_whole_in_the_detail(ws, size)) for _ in range(args.repeat)]
        ws.close()
    report("short post (the ideal)", short)
    report(f"{args.chars:,}-character post", big)
    report("the same, whole in the detail (before)", old)
    detail_cpu = statistics.median(r["detail + precedents"][1] for r in big)
    ideal_cpu = statistics.median(r["detail + precedents"][1] for r in short)
    pager_cpu = max(statistics.median(r[step][1] for r in big) for step in ("pager", "G", "resize"))
    print(
        f"detail of the big post / the short one (CPU, precedents included): {detail_cpu / ideal_cpu:.2f}×   goal ≤ 2×"
        f"   {'ok' if detail_cpu <= 2 * ideal_cpu else 'MISSED'}"
    )
    print(
        f"pager open, G, resize: the slowest {pager_cpu * 1000:.0f} ms CPU   goal < 100 ms   "
        f"{'ok' if pager_cpu < 0.1 else 'MISSED'}"
    )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if profile and args.profile:
        profile.dump_stats(args.profile)
        print(f"profile written to {args.profile}")


if __name__ == "__main__":
    main()
