"""Fake targets for the robustness tests (probes, repeats, the review queue), on top of tests/fakeserver.py."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any


def content_of(request: Any) -> str:
    """The item's content between the prompt's <content> markers (the content may hold the closing marker)."""
    return request.user_text.split("<content>", 1)[-1].rsplit("</content>", 1)[0].strip()


class NoisyTarget:
    """A responder that answers `base(request)` but flips the label with probability `p`, drawn from a generator
    seeded by (seed, content, how many times this content was asked): the same seed gives the same answers to the
    same sequence of calls whatever order concurrent calls arrive in."""

    def __init__(self, base: Callable[[Any], str], labels: tuple[str, str], p: float, seed: int) -> None:
        self.base, self.labels, self.p, self.seed = base, labels, p, seed
        self.calls: Counter[str] = Counter()
        self.bases: dict[str, str] = {}  # content → the label `base` gave it
        self._lock = threading.Lock()

    def answer(self, content: str, call: int, base_label: str) -> str:
        """The label of the `call`-th call (1-based) with this content."""
        flip = random.Random(f"{self.seed}:{content}:{call}").random() < self.p
        return (self.labels[1] if base_label == self.labels[0] else self.labels[0]) if flip else base_label

    def __call__(self, request: Any) -> str:
        content = content_of(request)
        with self._lock:
            self.calls[content] += 1
            call = self.calls[content]
            self.bases[content] = self.base(request)
        return self.answer(content, call, self.bases[content])
