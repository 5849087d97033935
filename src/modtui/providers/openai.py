"""OpenAI Chat Completions, and every OpenAI-compatible server via base_url (vLLM, Ollama, llama.cpp…)."""
from __future__ import annotations

import json
from typing import Any

from modtui.providers.base import Reply, Request
from modtui.providers.sdk import SdkProvider
from modtui.providers.sdk_errors import bad_body

_PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers usually accept any key


class OpenAIProvider(SdkProvider):
    name = "openai"
    supports_json_schema = True
    path = "/chat/completions"

    def make_client(self) -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(api_key=self.api_key or _PLACEHOLDER_KEY, base_url=self.target.base_url,
                           max_retries=self.target.max_retries, timeout=self.target.timeout)

    def body(self, request: Request) -> dict[str, Any]:
        """The Chat Completions request body: exactly what `chat.completions.create(**same)` would send."""
        body: dict[str, Any] = {"model": self.target.model, "messages": request.messages.as_list(), **self.params}
        schema = request.template.output_schema
        if self.target.structured_output and schema:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
        return body

    @staticmethod
    def parse(content: bytes) -> Reply:
        return _reply(content)


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
