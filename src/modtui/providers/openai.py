"""OpenAI Chat Completions, and every OpenAI-compatible server via base_url (vLLM, Ollama, llama.cpp…)."""
from __future__ import annotations

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
        from openai import AsyncOpenAI
        from openai.types.chat import ChatCompletion

        self.client = AsyncOpenAI(api_key=api_key or _PLACEHOLDER_KEY, base_url=target.base_url,
                                  max_retries=target.max_retries, timeout=target.timeout)
        self._completion = ChatCompletion
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
            # POST through the client (its retries, timeouts, errors and response model) rather than the typed
            # create(): that one rebuilds and re-validates its ~40 keyword arguments on every call, about a
            # quarter of the SDK's CPU per call (bench/replay.py), and rejects keywords a given SDK version lacks.
            response = await self.client.post("/chat/completions", body=self.body(request), cast_to=self._completion)
        except Exception as exc:  # every SDK failure becomes a recorded result, never a crash
            return failed(exc).timed(started)
        try:
            return _reply(response).timed(started)
        except Exception:  # not the SDK's model: a non-JSON content type comes back as a plain str
            return bad_body(response).timed(started)

    async def aclose(self) -> None:
        await self.client.close()


def _reply(response: Any) -> Reply:
    if not hasattr(response, "model_dump_json"):  # a non-JSON body comes back as a plain string
        return Reply(error_type="bad_response", error=f"reply is not JSON: {str(response)[:200]}")
    raw = response.model_dump_json()
    if not getattr(response, "choices", None):
        return Reply(error_type="bad_response", error="reply has no choices", raw=raw)
    choice = response.choices[0]
    message = choice.message
    usage = response.usage
    return Reply(text=message.content, finish_reason=choice.finish_reason, refusal=getattr(message, "refusal", None),
                 tokens_in=getattr(usage, "prompt_tokens", 0) or 0, tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                 raw=raw)
