"""Anthropic Messages API via AsyncAnthropic (base URL overridable)."""
from __future__ import annotations

import json
import time
from typing import Any

from modtui.providers.base import Provider, Reply, Request
from modtui.providers.sdk_errors import bad_body, failed

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        import httpx2
        from anthropic import AsyncAnthropic

        self.client = AsyncAnthropic(api_key=api_key, base_url=target.base_url,
                                     max_retries=target.max_retries, timeout=target.timeout)
        self._raw_response = httpx2.Response
        self.params = dict(target.params)  # every param goes in the body: the API, not the SDK, decides
        self.params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)  # the Messages API requires it

    def body(self, request: Request) -> dict[str, Any]:
        """The Messages request body: what `messages.create(**same)` would send."""
        body: dict[str, Any] = {"model": self.target.model,
                                "messages": [{"role": "user", "content": request.messages.user}], **self.params}
        if request.messages.system.strip():
            body["system"] = request.messages.system
        return body

    async def complete(self, request: Request) -> Reply:
        started = time.perf_counter()
        try:
            # POST through the client (its auth, retries, timeouts and typed errors) and read the JSON ourselves:
            # the typed Message, built block by block on every call, is ~20% of the SDK's CPU per call
            # (bench/replay.py), and some SDK versions reject keywords (temperature) the API accepts.
            response = await self.client.post("/v1/messages", body=self.body(request), cast_to=self._raw_response)
        except Exception as exc:  # every SDK failure becomes a recorded result, never a crash
            return failed(exc).timed(started)
        return _reply(response.content).timed(started)

    async def aclose(self) -> None:
        await self.client.close()


def _reply(content: bytes) -> Reply:
    """Text blocks only: thinking, tool_use and other blocks before the text are skipped. Not a message: bad_response."""
    raw = content.decode("utf-8", "replace")
    try:
        data = json.loads(content)
        texts = [block["text"] for block in data.get("content") or [] if block.get("type") == "text"]
        stop, usage = data.get("stop_reason"), data.get("usage") or {}
        if "content" not in data and stop is None:
            raise LookupError("not a message")
        return Reply(text="".join(texts) if texts else None, finish_reason=stop,
                     refusal="stop_reason refusal" if stop == "refusal" else None,
                     tokens_in=int(usage.get("input_tokens") or 0), tokens_out=int(usage.get("output_tokens") or 0),
                     raw=raw)
    except (ValueError, LookupError, TypeError, AttributeError):
        return bad_body(raw)
