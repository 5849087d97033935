"""What the SDK adapters share to turn a failed call into a typed error: the SDKs' exception families have one shape
(a timeout, a connection error, a response that failed validation, a status error with `status_code` and `body`),
and each adapter names its own SDK's classes in an `SdkErrors`, tested with `isinstance`."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from modtui.domain.verdict import ErrorType
from modtui.providers.base import Reply, status_error_type

MAX_ERROR_CHARS = 500
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


@dataclass(frozen=True, slots=True)
class SdkErrors:
    """One SDK's exception classes, as its adapter names them (imported when first needed, never at start-up)."""

    timeout: type[BaseException]  # APITimeoutError (a subclass of `connection`)
    connection: type[BaseException]  # APIConnectionError
    bad_response: type[BaseException]  # APIResponseValidationError: a 2xx body the SDK could not validate
    status: type[BaseException]  # APIStatusError: an HTTP error status, with `status_code` and `body`
    credentials: tuple[type[BaseException], ...] = ()  # the SDK could not load the credentials it was told to use

    @classmethod
    def of(cls, sdk: ModuleType, *credentials: type[BaseException]) -> SdkErrors:
        """The classes both official SDKs (openai, anthropic) export under the same names, from the SDK module."""
        return cls(
            sdk.APITimeoutError, sdk.APIConnectionError, sdk.APIResponseValidationError, sdk.APIStatusError, credentials
        )


def classify(exc: BaseException, sdk: SdkErrors) -> tuple[ErrorType, str]:
    """(error type, message) for any exception a call through the SDK whose classes `sdk` names raised."""
    if isinstance(exc, sdk.timeout):
        kind = ErrorType.CONNECTION if _dropped(exc) else ErrorType.TIMEOUT
    elif isinstance(exc, sdk.connection):
        kind = ErrorType.CONNECTION
    elif isinstance(exc, TimeoutError):
        kind = ErrorType.TIMEOUT
    elif isinstance(exc, (sdk.bad_response, ValueError)):  # ValueError: json.JSONDecodeError among others
        kind = ErrorType.BAD_RESPONSE
    elif isinstance(exc, sdk.credentials):
        kind = ErrorType.AUTH
    elif isinstance(exc, sdk.status):
        status = int(getattr(exc, "status_code", 0))
        if is_config_error(status, error_body(exc)):
            return ErrorType.CONFIG, f"HTTP {status}: {provider_message(exc)}"[:MAX_ERROR_CHARS]
        kind = status_error_type(status)
    else:
        kind = ErrorType.INTERNAL
    return kind, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


def _dropped(exc: BaseException) -> bool:
    """The SDK's timeout error caused by a connection that failed without timing out.

    The SDKs' aiohttp transport maps every aiohttp `ClientConnectionError` (a server that disconnects, a refused
    connection) to httpx's `ConnectTimeout`; the cause chain still holds aiohttp's own error, which is a
    `TimeoutError` only when something did time out. (No aiohttp loaded: no aiohttp error in the chain.)"""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return False
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, aiohttp.ClientConnectionError):
            return not isinstance(cause, TimeoutError)
        cause = cause.__cause__ or cause.__context__
    return False


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


def bad_body(response: object, reason: BaseException | None = None) -> Reply:
    """A reply that is not the API's response shape (e.g. a proxy's HTML page): bad_response, saying why."""
    text = response if isinstance(response, str) else f"{type(response).__name__}: {response!r}"
    why = f" ({type(reason).__name__}: {reason})" if reason is not None else ""
    return Reply(error_type=ErrorType.BAD_RESPONSE, error=f"the reply could not be read{why}: {text}"[:MAX_ERROR_CHARS])
