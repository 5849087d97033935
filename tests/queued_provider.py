"""An in-process provider for engine tests that are not about the wire: replies come from a queue.

Like simonw/llm's mock model: `enqueue()` replies, read `history` afterwards. When the queue is
empty, `respond(request)` answers (by default from the content, as conftest.toxicity_model does over
HTTP). No sockets, no SDK: a call costs microseconds. Tests of the SDK adapters and of what travels
on the wire use tests/fakeserver.py instead.

    def test_x(queued: QueuedModel, ws):        # fixture in conftest.py: every target answers from `queued`
        queued.enqueue("toxic", Reply(error_type=ErrorType.SERVER, error="boom"))
        ...
        assert [call.target for call in queued.history] == [...]
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from modtui.domain.target import Target
from modtui.providers.base import Provider, Reply, Request

# a reply's text (a label or JSON), a whole Reply (an error, a refusal...), or something to await for either
# (an answer that never comes: the call stays in flight until the replay is cancelled)
Answer = str | Reply | Awaitable[str | Reply]


@dataclass(frozen=True)
class Call:
    """One call the engine made: which target, and what it was asked."""

    target: str
    request: Request

    @property
    def content(self) -> str:
        return self.request.content

    @property
    def text(self) -> str:
        return self.request.messages.system + "\n" + self.request.messages.user

    @property
    def user_text(self) -> str:
        return self.request.messages.user


class QueuedModel:
    """The state every provider instance of one test shares: the queue, the history, calls in flight.

    `hold()` makes calls wait (in flight) until `release()`, so a test can see how many run at once
    by waiting for `in_flight` to reach a number rather than by timing anything.
    """

    def __init__(self, respond: Callable[[Call], Answer] | None = None) -> None:
        self.respond: Callable[[Call], Answer] = respond or (lambda call: "ok")
        self.history: list[Call] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Answer] = deque()
        self._open = asyncio.Event()
        self._open.set()
        self._changed = asyncio.Condition()

    def enqueue(self, *answers: Answer) -> None:
        self._queue.extend(answers)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def wait_in_flight(self, count: int, timeout: float = 10) -> None:
        """Until `count` calls are in flight at once (held by `hold()`)."""

        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.in_flight >= count)

        await asyncio.wait_for(reached(), timeout)

    def count(self, target: str | None = None) -> int:
        return sum(1 for call in self.history if target is None or call.target == target)

    async def answer(self, call: Call) -> Reply:
        self.history.append(call)
        async with self._changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        try:
            await self._open.wait()
            answer = self._queue.popleft() if self._queue else self.respond(call)
            if inspect.isawaitable(answer):
                answer = await answer
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()
        if isinstance(answer, Reply):
            return answer
        return Reply(
            text=answer,
            finish_reason="stop",
            tokens_in=len(call.text) // 4,
            tokens_out=len(answer) // 4,
            latency_ms=0.1,
            raw=answer,
        )

    def provider_class(self, base: Callable[[str], type[Provider]]) -> Callable[[str], type[Provider]]:
        """A stand-in for `modtui.providers.registry.provider_class`: HTTP providers answer from this queue;
        the offline rules baseline stays itself."""
        model = self

        class QueuedProvider(Provider):
            name = "queued"

            def __init__(self, target: Target, api_key: str | None) -> None:
                super().__init__(target, api_key)

            async def complete(self, request: Request) -> Reply:
                return await model.answer(Call(self.target.name, request))

        def lookup(name: str) -> type[Provider]:
            return base(name) if name == "rules" else QueuedProvider

        return lookup


async def never() -> Reply:
    """An answer that does not come: the call stays in flight until it is cancelled."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def label_json(label: str, confidence: float = 0.9, rationale: str = "queued") -> str:
    return json.dumps({"label": label, "confidence": confidence, "rationale": rationale})
