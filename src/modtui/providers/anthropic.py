"""Anthropic Messages API via AsyncAnthropic (base URL overridable)."""

from __future__ import annotations

import functools
import json
from typing import Any

from modtui.providers.base import MAX_TOKENS_COUNTED, Reply, Request, token_count
from modtui.providers.sdk import SdkProvider
from modtui.providers.sdk_errors import SdkErrors, bad_body

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(SdkProvider):
    name = "anthropic"
    path = "/v1/messages"

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        self.params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)  # the Messages API requires it

    def make_client(self) -> Any:
        from anthropic import AsyncAnthropic, DefaultAioHttpClient

        return AsyncAnthropic(
            api_key=self.api_key,
            base_url=self.target.base_url,
            max_retries=self.target.max_retries,
            timeout=self.target.timeout,
            http_client=DefaultAioHttpClient(),
        )

    def body(self, request: Request) -> dict[str, Any]:
        """The Messages request body: what `messages.create(**same)` would send."""
        body: dict[str, Any] = {
            "model": self.target.model,
            "messages": [{"role": "user", "content": request.messages.user}],
            **self.params,
        }
        if request.messages.system.strip():
            body["system"] = request.messages.system
        return body

    @staticmethod
    def parse(content: bytes) -> Reply:
        return _reply(content)

    @staticmethod
    @functools.cache
    def sdk_errors() -> SdkErrors:
        import anthropic

        return SdkErrors.of(anthropic, anthropic.CredentialsError)  # a profile or token file that would not load

    def missing_credentials(self, client: Any) -> str | None:
        """No key, token, credentials or auth header at all (no api_key_env and no $ANTHROPIC_API_KEY): the SDK
        would refuse every request, so none is made. A gateway's own auth header (ANTHROPIC_CUSTOM_HEADERS) counts."""
        headers = {name.lower() for name, value in client.default_headers.items() if isinstance(value, str) and value}
        if client.credentials is not None or headers & {"x-api-key", "authorization"}:
            return None
        return (
            f"no Anthropic credentials for target '{self.target.name}': name the key's environment variable with "
            f"api_key_env, or set $ANTHROPIC_API_KEY"
        )


def _reply(content: bytes) -> Reply:
    """The answer is the text blocks and each tool_use block's `input` (a verdict given through tool use), in order;
    thinking and other blocks are skipped. Prompt-cache tokens count in tokens_in. Not a message: bad_response."""
    raw = content.decode("utf-8", "replace")
    try:
        data = json.loads(content)
        answer = [_block_text(block) for block in data.get("content") or []]
        stop, usage = data.get("stop_reason"), data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        if "content" not in data and stop is None:
            raise LookupError("not a message")
        read, written = (
            token_count(usage.get("cache_read_input_tokens")),
            token_count(usage.get("cache_creation_input_tokens")),
        )
        texts = [a for a in answer if a is not None]
        return Reply(
            text="".join(texts) if texts else None,
            finish_reason=stop,
            refusal="stop_reason refusal" if stop == "refusal" else None,
            tokens_in=min(token_count(usage.get("input_tokens")) + read + written, MAX_TOKENS_COUNTED),
            tokens_out=token_count(usage.get("output_tokens")),
            raw=raw,
            model=data.get("model") if isinstance(data.get("model"), str) else None,
            cache_read_tokens=read,
            cache_write_tokens=written,
        )
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        return bad_body(raw, exc)


def _block_text(block: dict[str, Any]) -> str | None:
    """A content block's part of the answer (not a block object: AttributeError, so the body is bad_response)."""
    if block.get("type") == "text":
        return str(block.get("text") or "")
    if block.get("type") == "tool_use":
        return "\n" + json.dumps(block.get("input"), ensure_ascii=False) + "\n"  # its own line between texts
    return None
