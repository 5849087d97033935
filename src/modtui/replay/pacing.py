"""Calls leave evenly spaced over the typical latency, not in bunches: the spacing is learnt from the replies."""

from __future__ import annotations

import asyncio

SPREAD = 0.5  # space calls by half of latency ÷ concurrency: twice the rate the concurrency sustains stays open
WEIGHT = 0.1  # how fast the typical latency follows the replies (an exponential average)


class Pacer:
    """Spaces the calls of `concurrency` workers over a latency.

    With a fixed number of calls in flight, replies that arrive together are handled one after another and the
    next calls leave together again: the calls travel in a bunch that never spreads out, and every reply waits
    for the ones ahead of it. Spacing the calls by a fraction of latency ÷ concurrency spreads the bunch over the
    latency, so each reply is handled as it arrives (bench/replay.py). The spacing never lowers the rate the
    concurrency allows (Little's law: concurrency ÷ mean latency) while the latency holds; when it falls, the
    average follows within a few replies. Nothing is spaced until a reply has said how long a call takes."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self.latency = 0.0
        self._next = 0.0

    def observe(self, seconds: float | None) -> None:
        """A call took `seconds` (SDK retries included)."""
        if seconds and seconds > 0:
            self.latency = seconds if not self.latency else self.latency + WEIGHT * (seconds - self.latency)

    def delay(self, now: float) -> float:
        """How long a call that is ready at `now` waits for its turn (and takes that turn)."""
        if not self.latency:
            return 0.0
        at = max(now, self._next)
        self._next = at + SPREAD * self.latency / self.concurrency
        return at - now

    async def wait(self) -> None:
        wait = self.delay(asyncio.get_running_loop().time())
        if wait > 0:
            await asyncio.sleep(wait)
