"""Provider Batch APIs: many calls submitted at once (at a discount, answered within a day), results fetched later.

A batch adapter sends exactly the request body its live adapter would (same messages, params, schema), so a
batch reply parses, caches and scores like a live one. Like live adapters, each is one file plus one registry
line, and its SDK is imported only when first used.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from modtui.domain.target import Target
from modtui.errors import Problem, UsageError
from modtui.providers.base import Reply, Request

if TYPE_CHECKING:
    from modtui.providers.sdk import SdkProvider

BATCH_PROVIDERS: dict[str, str] = {
    "openai": "modtui.providers.openai_batch:OpenAIBatch",
    "anthropic": "modtui.providers.anthropic_batch:AnthropicBatch",
}


@dataclass(frozen=True, slots=True)
class BatchState:
    """Where a provider batch is: its own status word, whether it has ended, and why it failed as a whole."""

    status: str
    ended: bool
    failed: str | None = None  # the whole batch was refused (validation, auth): no request ran
    counts: dict[str, int] = field(default_factory=dict)


class BatchProvider(ABC):
    name: ClassVar[str]
    max_requests: ClassVar[int]  # per provider batch; larger submissions are split
    live_adapter: ClassVar[type[SdkProvider]]  # the live adapter: its request body, client and SDK error classes

    def __init__(self, target: Target, api_key: str | None) -> None:
        self.target = target
        self.api_key = api_key

    @abstractmethod
    async def submit(self, requests: Sequence[tuple[str, Request]]) -> str:
        """Submit (custom_id, request) pairs as one batch; returns the provider's batch id. SDK errors raise."""

    @abstractmethod
    async def state(self, batch_id: str) -> BatchState:
        """The batch's status now. SDK errors raise."""

    @abstractmethod
    def results(self, batch_id: str) -> AsyncIterator[tuple[str, Reply]]:
        """(custom_id, reply) for every request the ended batch answered, streamed; failures are typed replies."""

    @classmethod
    def describe(cls, exc: BaseException) -> str:
        """What an SDK error of submit() or state() says, classified as a live call's would be."""
        return cls.live_adapter.classify(exc)[1]

    async def aclose(self) -> None:
        return None


def batch_provider_class(target: Target) -> type[BatchProvider]:
    if target.provider not in BATCH_PROVIDERS:
        raise UsageError(
            Problem(
                "--batch",
                f"target '{target.name}' (provider {target.provider}) has no batch API; "
                f"batch replays work on {', '.join(BATCH_PROVIDERS)} targets",
            )
        )
    module_name, _, attr = BATCH_PROVIDERS[target.provider].partition(":")
    return getattr(importlib.import_module(module_name), attr)
