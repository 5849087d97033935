"""Anthropic Messages API via AsyncAnthropic (base URL overridable)."""
from __future__ import annotations

import inspect
import time
from typing import Any

from modtui.providers.base import Provider, Reply, Request
from modtui.providers.sdk_errors import bad_body, failed, split_params

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        from anthropic import AsyncAnthropic

        self.client = AsyncAnthropic(api_key=api_key, base_url=target.base_url,
                                     max_retries=target.max_retries, timeout=target.timeout)
        accepted = set(inspect.signature(self.client.messages.create).parameters)
        self.params, self.extra = split_params(dict(target.params), accepted)
        self.params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)

    def _kwargs(self, request: Request) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.target.model,
                                  "messages": [{"role": "user", "content": request.messages.user}], **self.params}
        if request.messages.system.strip():
            kwargs["system"] = request.messages.system
        if self.extra:
            kwargs["extra_body"] = dict(self.extra)
        return kwargs

    async def complete(self, request: Request) -> Reply:
        started = time.perf_counter()
        try:
            response = await self.client.messages.create(**self._kwargs(request))
        except Exception as exc:  # every SDK failure becomes a recorded result, never a crash
            return failed(exc).timed(started)
        try:
            return _reply(response).timed(started)
        except Exception:  # not the SDK's model: a non-JSON content type comes back as a plain str
            return bad_body(response).timed(started)

    async def aclose(self) -> None:
        await self.client.close()


def _reply(response: Any) -> Reply:
    """Text blocks only: thinking, tool_use and other blocks before the text are skipped."""
    if not hasattr(response, "model_dump_json"):  # a non-JSON body comes back as a plain string
        return Reply(error_type="bad_response", error=f"reply is not JSON: {str(response)[:200]}")
    texts = [block.text for block in (response.content or []) if getattr(block, "type", None) == "text"]
    stop = response.stop_reason
    usage = response.usage
    return Reply(text="".join(texts) if texts else None, finish_reason=stop,
                 refusal="stop_reason refusal" if stop == "refusal" else None,
                 tokens_in=getattr(usage, "input_tokens", 0) or 0, tokens_out=getattr(usage, "output_tokens", 0) or 0,
                 raw=response.model_dump_json())
