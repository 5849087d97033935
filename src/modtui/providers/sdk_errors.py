"""Classify an exception from the official SDKs (they share one shape) into an error type."""
from __future__ import annotations

import json

from modtui.providers.base import Reply, status_error_type

MAX_ERROR_CHARS = 500


def classify(exc: BaseException) -> tuple[str, str]:
    """(error_type, message) for any exception an SDK call raised."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if name == "APITimeoutError" or isinstance(exc, TimeoutError):
        kind = "timeout"
    elif name == "APIConnectionError":
        kind = "connection"
    elif name == "APIResponseValidationError" or isinstance(exc, (json.JSONDecodeError, ValueError)):
        kind = "bad_response"
    elif isinstance(exc, TypeError) and "authentication" in str(exc):
        kind = "auth"  # no key at all: the SDK refuses to build the request ("Could not resolve authentication method")
    elif status is not None:
        kind = status_error_type(int(status))
    else:
        kind = "internal"
    message = f"{name}: {exc}"
    return kind, message[:MAX_ERROR_CHARS]


def failed(exc: BaseException) -> Reply:
    kind, message = classify(exc)
    return Reply(error_type=kind, error=message)


def bad_body(response: object) -> Reply:
    """A reply that is not the SDK's response model (e.g. a proxy's HTML page, which the SDKs return as a str)."""
    text = response if isinstance(response, str) else f"{type(response).__name__}: {response!r}"
    return Reply(error_type="bad_response", error=f"unexpected response body: {text}"[:MAX_ERROR_CHARS])
