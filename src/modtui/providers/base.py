"""The one provider interface: rendered messages in; reply text, usage, latency or a typed error out."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from modtui.domain.prompt import PromptTemplate
from modtui.domain.target import Target
from modtui.domain.verdict import ErrorType, Outcome, Verdict
from modtui.prompts.render import Messages


@dataclass(frozen=True, slots=True)
class Request:
    messages: Messages
    content: str
    template: PromptTemplate
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back. Failures are data: `error_type` set and `error` holding a scrubbed message."""

    text: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float | None = None
    raw: str | None = None
    error_type: ErrorType | None = None
    error: str | None = None
    verdict: Verdict | None = None  # set by providers that decide without text (the rules baseline)
    model: str | None = None  # the model id the provider says answered
    system_fingerprint: str | None = None  # OpenAI: the backend configuration that answered
    cache_read_tokens: int = 0  # prompt tokens read from the provider's prompt cache (included in tokens_in)
    cache_write_tokens: int = 0  # prompt tokens written to it (included in tokens_in)

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    def timed(self, started: float) -> "Reply":
        return replace(self, latency_ms=(time.perf_counter() - started) * 1000)


class Provider(ABC):
    """One adapter per provider. Capabilities are class attributes; SDKs are imported lazily."""

    name: ClassVar[str]
    needs_key: ClassVar[bool] = True
    cacheable: ClassVar[bool] = True
    supports_json_schema: ClassVar[bool] = False
    local: ClassVar[bool] = False
    """Decides in this process, without I/O or waiting (the rules baseline): the engine hands it slices of items
    through decide_many() instead of awaiting complete() once per item."""
    deterministic_version: ClassVar[str | None] = None
    """Set by a provider whose verdict depends only on the prompt and the content (the rules baseline): the version
    of what decides. An unchanged re-run (same prompt version, items and this version) is served from the log."""

    def __init__(self, target: Target, api_key: str | None) -> None:
        self.target = target
        self.api_key = api_key

    def prepare(self) -> None:  # noqa: B027  optional: most providers have nothing to load
        """Load what the first call needs (an SDK import): the engine calls it in a thread, off the event loop."""

    @abstractmethod
    async def complete(self, request: Request) -> Reply:
        """Call the model once (the SDK retries on its own). Never raises for provider faults."""

    def decide_many(self, template: PromptTemplate, contents: Sequence[str]) -> list[Reply]:
        """One reply per content, in order (only for `local` providers)."""
        raise NotImplementedError(f"{self.name} is not a local provider")

    def decide_plain(self, template: PromptTemplate, contents: Sequence[str]) -> list[Reply | PlainVerdict]:
        """`decide_many`, where a provider can give a reply that is only a label verdict as a PlainVerdict tuple
        without building the Reply (what replay.workers sends back). By default: decide_many's replies."""
        return list(self.decide_many(template, contents))

    async def aclose(self) -> None:
        return None


#: A reply that is only a label verdict (finish reason stop, nothing else but its latency): (label, confidence,
#: rationale, cited rules, latency ms). Building and pickling a Reply holding a Verdict costs ~9 µs an item each way;
#: this tuple ~1, and the engine records it without either object (replay.workers, Engine._record_local).
PlainVerdict = tuple[str | None, float | None, str | None, tuple[str, ...], float | None]


def plain_reply(plain: PlainVerdict) -> Reply:
    """The reply a PlainVerdict stands for."""
    label, confidence, rationale, rules, latency_ms = plain
    return Reply(
        finish_reason="stop",
        verdict=Verdict(Outcome.LABEL, label, confidence, rationale, rules=rules),
        latency_ms=latency_ms,
    )


MAX_TOKENS_COUNTED = 2**31 - 1  # the log's INTEGER columns; a server's absurd usage figure must not refuse the write


def token_count(value: object) -> int:
    """A usage figure as a token count: a whole number from 0 to MAX_TOKENS_COUNTED (anything else counts 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        return 0
    return min(max(number, 0), MAX_TOKENS_COUNTED)


def status_error_type(status: int | None) -> ErrorType:
    """The error type for an HTTP status code."""
    if status is None:
        return ErrorType.CONNECTION
    if status == 429:
        return ErrorType.RATE_LIMIT
    if status in (401, 403):
        return ErrorType.AUTH
    if status == 408:
        return ErrorType.TIMEOUT
    if status >= 500:
        return ErrorType.SERVER
    return ErrorType.BAD_REQUEST
