"""Classify an exception from the official SDKs (they share one shape) into an error type."""

from __future__ import annotations

import json
import re
from typing import Any

from modtui.providers.base import Reply, status_error_type

MAX_ERROR_CHARS = 500
CONFIG = "config"
# 400s that say the target's configuration is wrong, not the item: OpenAI's codes, and the wording of OpenAI,
# Anthropic and the OpenAI-compatible servers (vLLM, Ollama, LM Studio, gateways) for a parameter or model they refuse
_CONFIG_CODES = frozenset({"unsupported_parameter", "unsupported_value", "model_not_found", "invalid_model"})
_CONFIG_WORDING = re.compile(
    r"unsupported (parameter|value)|(is|are) not supported (with|by|for|on) this model|does not support|"
    r"unrecognized request argument|extra inputs are not permitted|unknown (parameter|field|model)|"
    r"may only be set to|cannot both be specified|use 'max_completion_tokens'|"
    r"model\b.{0,80}\b(does not exist|not found|is not available)",
    re.IGNORECASE,
)


def classify(exc: BaseException) -> tuple[str, str]:
    """(error_type, message) for any exception an SDK call raised."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if (name == "APITimeoutError" and not _dropped(exc)) or isinstance(exc, TimeoutError):
        kind = "timeout"
    elif name in ("APIConnectionError", "APITimeoutError"):
        kind = "connection"
    elif name == "APIResponseValidationError" or isinstance(exc, (json.JSONDecodeError, ValueError)):
        kind = "bad_response"
    elif isinstance(exc, TypeError) and "authentication" in str(exc):
        kind = "auth"  # no key at all: the SDK refuses to build the request ("Could not resolve authentication method")
    elif status is not None:
        kind = status_error_type(int(status))
        if is_config_error(int(status), error_body(exc)):
            return CONFIG, f"HTTP {status}: {provider_message(exc)}"[:MAX_ERROR_CHARS]
    else:
        kind = "internal"
    message = f"{name}: {exc}"
    return kind, message[:MAX_ERROR_CHARS]


def _dropped(exc: BaseException) -> bool:
    """The SDK's timeout error caused by a connection that failed without timing out.

    The SDKs' aiohttp transport maps every aiohttp `ClientConnectionError` (a server that disconnects, a refused
    connection) to httpx's `ConnectTimeout`; the cause chain still holds aiohttp's own error, which is a
    `TimeoutError` only when something did time out."""
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if any(
            cls.__name__ == "ClientConnectionError" and cls.__module__.startswith("aiohttp")
            for cls in type(cause).__mro__
        ):
            return not isinstance(cause, TimeoutError)
        cause = cause.__cause__ or cause.__context__
    return False


def failed(exc: BaseException) -> Reply:
    if getattr(exc, "status_code", None) == 400 and error_body(exc).get("code") == "content_filter":
        return content_filtered(error_body(exc))
    kind, message = classify(exc)
    return Reply(error_type=kind, error=message)


def error_body(exc: BaseException) -> dict[str, Any]:
    """The `error` object of an SDK status error (OpenAI's SDK keeps it; Anthropic's keeps the whole body)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return body if isinstance(body, dict) else {}


def provider_message(exc: BaseException) -> str:
    body = error_body(exc)
    given = body.get("message")
    message = given if isinstance(given, str) else str(exc)
    param = body.get("param")
    return f"{message} (param: {param})" if isinstance(param, str) and param and param not in message else message


def is_config_error(status: int, body: dict[str, Any]) -> bool:
    """An unknown model or route (404), or a 400 refusing a parameter or its value: the target is misconfigured."""
    if status == 404:
        return True
    if status != 400:
        return False
    message = body.get("message")
    return body.get("code") in _CONFIG_CODES or (isinstance(message, str) and bool(_CONFIG_WORDING.search(message)))


def content_filtered(body: dict[str, Any]) -> Reply:
    """Azure OpenAI's 400 `content_filter` (the prompt was blocked): a refusal naming the filtered categories."""
    from modtui.providers.openai import filtered_categories

    inner = body.get("innererror")
    inner = inner if isinstance(inner, dict) else {}
    return Reply(
        refusal=filtered_categories(inner.get("content_filter_result")),
        finish_reason="content_filter",
        raw=json.dumps(body)[: MAX_ERROR_CHARS * 4],
    )


def bad_body(response: object, reason: BaseException | None = None) -> Reply:
    """A reply that is not the API's response shape (e.g. a proxy's HTML page): bad_response, saying why."""
    text = response if isinstance(response, str) else f"{type(response).__name__}: {response!r}"
    why = f" ({type(reason).__name__}: {reason})" if reason is not None else ""
    return Reply(error_type="bad_response", error=f"the reply could not be read{why}: {text}"[:MAX_ERROR_CHARS])
