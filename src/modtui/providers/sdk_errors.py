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
    elif status is not None:
        kind = status_error_type(int(status))
    else:
        kind = "internal"
    message = f"{name}: {exc}"
    return kind, message[:MAX_ERROR_CHARS]


def failed(exc: BaseException) -> Reply:
    kind, message = classify(exc)
    return Reply(error_type=kind, error=message)


def split_params(params: dict, accepted: set[str]) -> tuple[dict, dict]:
    """Params the SDK method accepts as keywords, and the rest (sent as extra_body so the API decides)."""
    known = {k: v for k, v in params.items() if k in accepted}
    extra = {k: v for k, v in params.items() if k not in accepted}
    return known, extra
