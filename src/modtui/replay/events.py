"""Progress of a replay as a stream of events; the CLI and the TUI each render them their own way."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from modtui.domain.run import RunStatus
from modtui.domain.verdict import Verdict


@dataclass
class RunProgress:
    run_id: int
    target: str
    prompt: str
    total: int
    done: int = 0
    cached: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    fresh: int = 0  # results produced in this process (for the rate)
    status: RunStatus = RunStatus.RUNNING
    message: str | None = None
    last_item_id: str | None = None  # the result that triggered this event, so a view can update
    last_verdict: Verdict | None = None  # one cell instead of re-reading the log

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float | None:
        """Results per second made in this process; None until there is one (the cache answered all so far)."""
        elapsed = time.monotonic() - self.started
        return self.fresh / elapsed if self.fresh and elapsed > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        left = self.total - self.done
        return left / rate if rate else None

    @property
    def finished(self) -> bool:
        return self.status is not RunStatus.RUNNING
