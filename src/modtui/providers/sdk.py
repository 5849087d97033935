"""What the two SDK-backed adapters share: one client per target, a POST of the body, the reply read as JSON."""

from __future__ import annotations

import functools
import gc
import time
from abc import abstractmethod
from typing import Any, ClassVar

from modtui.collector import paused
from modtui.domain.verdict import ErrorType
from modtui.providers.base import Provider, Reply, Request
from modtui.providers.sdk_errors import SdkErrors, classify


@functools.cache
def _spare_loaded_modules() -> None:
    """Once the first SDK client is built, what is loaded (the SDK's modules, thousands of classes and their schemas)
    is moved out of the cyclic collector's sight, as `modtui replay` and the TUI do with their own after start-up
    (gc.freeze): it lives as long as the process, and the next full collection would walk it all only to find no
    garbage, ~40 ms stalling the first wave of calls (bench/replay.py)."""
    gc.freeze()


class SdkProvider(Provider):
    """POSTs through the SDK client (its auth, retries, timeouts and typed errors) and reads the JSON itself.

    The typed `create()` rebuilds and re-validates its keyword arguments, and the typed reply is built field
    by field, on every call: ~40% (openai) / ~20% (anthropic) of the SDK's CPU per call (bench/replay.py).
    Some SDK versions also reject keywords (temperature) that the API accepts.
    """

    path: ClassVar[str]

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        self._client: Any = None
        self._raw_response: Any = None
        self._no_credentials: str | None = None
        self.params = dict(target.params)  # every param goes in the body: the API, not the SDK, decides

    @property
    def client(self) -> Any:
        """The SDK client, built (and the SDK imported, ~1 s) on first use: a replay the cache answers never pays it."""
        if self._client is None:
            with paused():  # the SDK's import: modules and schemas kept for the life of the process (collector)
                import httpx2

                self._client = self.make_client()
                _spare_loaded_modules()  # before the collector runs again: it would walk them all first
            self._raw_response = httpx2.Response
            self._no_credentials = self.missing_credentials(self._client)
        return self._client

    def prepare(self) -> None:
        self.client  # noqa: B018 - built now, in the engine's thread: importing the SDK would stall a TUI

    @abstractmethod
    def make_client(self) -> Any:
        """The SDK's async client for this target (imported here, so `modtui --help` never loads it)."""

    @abstractmethod
    def body(self, request: Request) -> dict[str, Any]:
        """The request body, exactly what the SDK's typed create(**same) would send."""

    @staticmethod
    @abstractmethod
    def parse(content: bytes) -> Reply:
        """A reply body as a Reply; anything that is not the API's reply shape is bad_response."""

    @staticmethod
    @abstractmethod
    def sdk_errors() -> SdkErrors:
        """The SDK's own exception classes (the SDK imported here, when a failure is classified)."""

    def missing_credentials(self, client: Any) -> str | None:
        """Why the client can send no request at all (it has no credentials), or None: the call is not made."""
        return None

    @classmethod
    def classify(cls, exc: BaseException) -> tuple[ErrorType, str]:
        """(error type, message) for an exception a call through this adapter's SDK raised."""
        return classify(exc, cls.sdk_errors())

    @classmethod
    def failed(cls, exc: BaseException) -> Reply:
        """A failed call as a typed reply."""
        kind, message = cls.classify(exc)
        return Reply(error_type=kind, error=message)

    async def complete(self, request: Request) -> Reply:
        started = time.perf_counter()
        try:
            client = self.client
            if self._no_credentials is not None:
                return Reply(error_type=ErrorType.AUTH, error=self._no_credentials).timed(started)
            response = await client.post(self.path, body=self.body(request), cast_to=self._raw_response)
        except Exception as exc:  # noqa: BLE001  every SDK failure becomes a recorded result, never a crash
            return self.failed(exc).timed(started)
        try:
            return self.parse(response.content).timed(started)
        except Exception as exc:  # noqa: BLE001 - a reply nobody foresaw is that item's result, not the run's end
            return Reply(
                error_type=ErrorType.BAD_RESPONSE,
                error=f"the reply could not be read: {type(exc).__name__}: {exc}",
                raw=response.content.decode("utf-8", "replace"),
            ).timed(started)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
