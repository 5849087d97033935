"""OpenAI Chat Completions, and every OpenAI-compatible server via base_url (vLLM, Ollama, llama.cpp…)."""

from __future__ import annotations

import functools
import json
from typing import Any

from modtui.providers.base import Reply, Request, token_count
from modtui.providers.sdk import SdkProvider
from modtui.providers.sdk_errors import MAX_ERROR_CHARS, SdkErrors, bad_body, error_body

_PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers usually accept any key


class OpenAIProvider(SdkProvider):
    name = "openai"
    supports_json_schema = True
    path = "/chat/completions"

    def make_client(self) -> Any:
        from openai import AsyncOpenAI, DefaultAioHttpClient

        return AsyncOpenAI(
            api_key=self.api_key or _PLACEHOLDER_KEY,
            base_url=self.target.base_url,
            max_retries=self.target.max_retries,
            timeout=self.target.timeout,
            http_client=DefaultAioHttpClient(),
        )

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

    @staticmethod
    @functools.cache
    def sdk_errors() -> SdkErrors:
        import openai

        return SdkErrors.of(openai)  # AuthenticationError, RateLimitError, ...: APIStatusError by status code

    @classmethod
    def failed(cls, exc: BaseException) -> Reply:
        """Azure OpenAI's 400 `content_filter` (the prompt was blocked) is a refusal; the rest as every SDK error."""
        import openai

        if isinstance(exc, openai.BadRequestError) and error_body(exc).get("code") == "content_filter":
            return _prompt_filtered(error_body(exc))
        return super().failed(exc)


def _reply(content: bytes) -> Reply:
    """A Chat Completions JSON body as a reply; anything else (an HTML error page, no choices) is bad_response.

    The answer is `message.content` (a string, or a list of parts whose text parts are joined: Mistral's Magistral
    sends its thinking as a part, which is skipped) followed by any tool call's arguments (a verdict given through
    tool use). Reasoning fields (`reasoning_content`, `reasoning`) are never read as the answer."""
    raw = content.decode("utf-8", "replace")
    try:
        data = json.loads(content)
        choice = data["choices"][0]
        message, usage = choice["message"], _mapping(data.get("usage"))
        answer = [content_text(message.get("content")), *tool_arguments(message)]
        details = _mapping(usage.get("prompt_tokens_details"))
        return Reply(
            text="\n".join(a for a in answer if a) if any(answer) else None,
            finish_reason=choice.get("finish_reason"),
            refusal=message.get("refusal") or _filtered(choice),
            tokens_in=token_count(usage.get("prompt_tokens")),
            tokens_out=token_count(usage.get("completion_tokens")),
            raw=raw,
            model=_str(data.get("model")),
            system_fingerprint=_str(data.get("system_fingerprint")),
            cache_read_tokens=token_count(details.get("cached_tokens")),
        )
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        return bad_body(raw, exc)


def content_text(content: Any) -> str | None:
    """`message.content` as text: a string as is; a list of parts → its text parts joined (thinking parts skipped)."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TypeError(f"message.content is a {type(content).__name__}, not text or a list of parts")
    texts = [
        part.get("text") if isinstance(part, dict) else part
        for part in content
        if isinstance(part, str) or (isinstance(part, dict) and part.get("type") in ("text", "output_text"))
    ]
    return "".join(t for t in texts if isinstance(t, str))


def tool_arguments(message: dict[str, Any]) -> list[str]:
    """The arguments of each tool call (and of the legacy `function_call`), as JSON text, in order."""
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    payloads = [
        c.get("function", {}).get("arguments")
        if c.get("type", "function") == "function"
        else (c.get("custom") or {}).get("input")
        for c in calls
    ]
    if isinstance(message.get("function_call"), dict):
        payloads.append(message["function_call"].get("arguments"))
    return [p if isinstance(p, str) else json.dumps(p) for p in payloads if p is not None]


def _prompt_filtered(body: dict[str, Any]) -> Reply:
    """Azure OpenAI refused the prompt itself: a refusal naming the filtered categories, the error body kept."""
    inner = body.get("innererror")
    inner = inner if isinstance(inner, dict) else {}
    return Reply(
        refusal=filtered_categories(inner.get("content_filter_result")),
        finish_reason="content_filter",
        raw=json.dumps(body)[: MAX_ERROR_CHARS * 4],
    )


def _filtered(choice: dict[str, Any]) -> str | None:
    """Azure OpenAI: the categories its content filter stopped the answer for (finish_reason content_filter)."""
    if choice.get("finish_reason") != "content_filter":
        return None
    return filtered_categories(choice.get("content_filter_results"))


def filtered_categories(results: Any) -> str:
    """`content_filter: hate (high), violence (medium)` from an Azure content_filter_result(s) object."""
    names = (
        [
            f"{name} ({value.get('severity')})" if value.get("severity") else name
            for name, value in (results or {}).items()
            if isinstance(value, dict) and (value.get("filtered") or value.get("detected"))
        ]
        if isinstance(results, dict)
        else []
    )
    return "content_filter" + (f": {', '.join(names)}" if names else "")


def _mapping(value: Any) -> dict[str, Any]:
    """An optional object of the reply (usage and its details): {} when absent or not an object."""
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
