"""OpenAI Chat Completions, and every OpenAI-compatible server via base_url (vLLM, Ollama, llama.cpp…)."""
from __future__ import annotations

import json
import time
from typing import Any

from modtui.providers.base import Provider, Reply, Request
from modtui.providers.sdk_errors import bad_body, failed

_PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers usually accept any key


class OpenAIProvider(Provider):
    name = "openai"
    supports_json_schema = True

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        import httpx2
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=api_key or _PLACEHOLDER_KEY, base_url=target.base_url,
                                  max_retries=target.max_retries, timeout=target.timeout)
        self._raw_response = httpx2.Response
        self.params = dict(target.params)  # every param goes in the body: the server, not the SDK, decides

    def body(self, request: Request) -> dict[str, Any]:
        """The Chat Completions request body: exactly what `chat.completions.create(**same)` would send."""
        body: dict[str, Any] = {"model": self.target.model, "messages": request.messages.as_list(), **self.params}
        schema = request.template.output_schema
        if self.target.structured_output and schema:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
        return body

    async def complete(self, request: Request) -> Reply:
        started = time.perf_counter()
        try:
            # POST through the client (its retries, timeouts and typed errors) rather than the typed create(), and
            # read the JSON ourselves: create() rebuilds and re-validates ~40 keyword arguments and the typed reply
            # is built field by field on every call -- together ~40% of the SDK's CPU per call (bench/replay.py).
            response = await self.client.post("/chat/completions", body=self.body(request), cast_to=self._raw_response)
        except Exception as exc:  # every SDK failure becomes a recorded result, never a crash
            return failed(exc).timed(started)
        return _reply(response.content).timed(started)

    async def aclose(self) -> None:
        await self.client.close()


def _reply(content: bytes) -> Reply:
    """A Chat Completions JSON body as a reply; anything else (an HTML error page, no choices) is bad_response."""
    raw = content.decode("utf-8", "replace")
    try:
        data = json.loads(content)
        choice = data["choices"][0]
        message, usage = choice["message"], data.get("usage") or {}
        return Reply(text=message.get("content"), finish_reason=choice.get("finish_reason"),
                     refusal=message.get("refusal"), tokens_in=int(usage.get("prompt_tokens") or 0),
                     tokens_out=int(usage.get("completion_tokens") or 0), raw=raw)
    except (ValueError, LookupError, TypeError, AttributeError):
        return bad_body(raw)
