"""Calls leave spaced over the latency the replies show (replay/pacing.py), and the engine paces each call it makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modtui.providers.base import Reply
from modtui.replay.pacing import SPREAD, Pacer
from modtui.services import replay as svc
from modtui.workspace import Workspace


def test_nothing_is_spaced_before_a_reply_says_how_long_a_call_takes() -> None:
    pacer = Pacer(4)
    assert [pacer.delay(10.0) for _ in range(8)] == [0.0] * 8


def test_calls_ready_together_leave_spaced_over_the_latency() -> None:
    pacer = Pacer(4)
    pacer.observe(0.2)
    step = SPREAD * 0.2 / 4
    assert [pacer.delay(10.0) for _ in range(4)] == pytest.approx([0, step, 2 * step, 3 * step])
    assert pacer.delay(11.0) == 0.0  # ready after its turn: it leaves at once, and no debt is carried
    assert pacer.delay(11.0) == pytest.approx(step)


def test_the_typical_latency_follows_the_replies() -> None:
    pacer = Pacer(1)
    pacer.observe(None)  # a reply that did not say
    pacer.observe(0.0)
    assert pacer.latency == 0.0
    pacer.observe(0.2)
    assert pacer.latency == 0.2  # the first reply sets it
    pacer.observe(1.2)
    assert pacer.latency == pytest.approx(0.3)  # then an exponential average: a slow reply moves it a tenth


async def test_the_engine_paces_each_call_and_learns_from_its_reply(
    served_workspace: Path, queued: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 items, 4 in flight, each reply says 4 s: calls leave at once until a reply has come (and the first after
    it), then each takes the next turn, 0.5 s apart (recorded, not slept: the test takes no time)."""
    delays: list[float] = []
    observed: list[float | None] = []
    delay, observe = Pacer.delay, Pacer.observe

    def recorded_delay(self: Pacer, now: float) -> float:
        delays.append(delay(self, now))
        return 0.0

    def recorded_observe(self: Pacer, seconds: float | None) -> None:
        observed.append(seconds)
        observe(self, seconds)

    monkeypatch.setattr(Pacer, "delay", recorded_delay)
    monkeypatch.setattr(Pacer, "observe", recorded_observe)
    reply = Reply(text='{"label": "ok", "confidence": 0.9}', finish_reason="stop", latency_ms=4000.0)
    queued.enqueue(*[reply] * 12)
    ws = Workspace.open(served_workspace)
    spec = svc.ReplaySpec("INC-T1", targets=["gpt-mini"], concurrency=4, use_cache=False)
    await svc.execute(ws, svc.plan(ws, spec), spec, None)
    ws.close()
    assert queued.count() == len(delays) == len(observed) == 12
    assert observed == [4.0] * 12
    step = SPREAD * 4.0 / 4
    at_once = delays.count(0.0)
    assert delays[0] == 0.0 and 2 <= at_once <= 5  # at most the 4 first calls and the first after a reply
    assert sorted(delays)[at_once:] == pytest.approx([n * step for n in range(1, 13 - at_once)], abs=0.1)
