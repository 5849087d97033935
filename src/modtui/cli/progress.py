"""Replay progress on stderr: a live bar per run on a terminal, occasional lines otherwise."""

from __future__ import annotations

import sys
import time

from modtui.replay.events import RunProgress
from modtui.terminal import one_line

BAR = 24


class ProgressPrinter:
    def __init__(self, stream=None, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval if self.live else 2.0
        self.runs: dict[int, RunProgress] = {}
        self._last = 0.0
        self._lines = 0
        self._complete: set[int] = set()

    def __call__(self, progress: RunProgress) -> None:
        self.runs[progress.run_id] = progress
        now = time.monotonic()
        if progress.done == progress.total and progress.run_id not in self._complete:
            self._complete.add(progress.run_id)
            if not self.live:
                self.stream.write(line(progress) + "\n")
                return
        if now - self._last >= self.interval:
            self._last = now
            self.render()

    def render(self) -> None:
        lines = [line(p) for p in self.runs.values()]
        if self.live:
            if self._lines:
                self.stream.write(f"\x1b[{self._lines}F")
            self.stream.write("".join(f"\x1b[2K{text}\n" for text in lines))
            self._lines = len(lines)
        else:
            self.stream.write("".join(f"{text}\n" for text in lines))
        self.stream.flush()

    def close(self) -> None:
        if self.live and self.runs:
            self.render()


def line(p: RunProgress) -> str:
    filled = int(BAR * p.done / p.total) if p.total else BAR
    errors = ", ".join(f"{k} {v}" for k, v in sorted(p.errors.items())) or "0"
    eta = f"ETA {p.eta_seconds:.0f}s" if p.eta_seconds and p.done < p.total else ""
    cached = f" cached {p.cached}" if p.cached else ""
    rate = "" if p.rate is None else f" {p.rate:.1f}/s"
    return (
        f"run {p.run_id} {one_line(p.target)} × {one_line(p.prompt)} [{'#' * filled}{'-' * (BAR - filled)}] {p.done}/{p.total}"
        f"{cached} errors {errors}{rate} {eta}"
    ).rstrip()
