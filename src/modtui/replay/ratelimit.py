"""A requests-per-minute budget: calls are spaced evenly, with a small burst allowance."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    def __init__(self, per_minute: float | None, burst: int = 1) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.burst = max(1, burst)
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            floor = now - self.interval * (self.burst - 1)
            self._next = max(self._next, floor)
            wait = self._next - now
            self._next += self.interval
        if wait > 0:
            await asyncio.sleep(wait)
