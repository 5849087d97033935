"""What a model said about one item: a label, or a typed non-verdict kept with its raw text."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    LABEL = "label"
    PARSE_ERROR = "parse_error"
    REFUSAL = "refusal"
    TRUNCATED = "truncated"
    ERROR = "error"


class ErrorType(StrEnum):
    """Why a call gave no reply to read (a result with outcome `error`); the log and JSON keep the value."""

    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    BAD_RESPONSE = "bad_response"
    CANCELLED = "cancelled"  # a provider batch was cancelled before the request ran
    EXPIRED = "expired"  # a provider batch expired before the request ran
    INTERNAL = "internal"
    CONFIG = "config"  # the provider refused the target's configuration (unknown model, unsupported parameter)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    label: str | None = None
    confidence: float | None = None
    rationale: str | None = None
    error_type: ErrorType | None = None
    detail: str | None = None
    rules: tuple[str, ...] = ()  # the policy rules (or guard categories) the verdict cites, in order

    @property
    def has_label(self) -> bool:
        return self.outcome is Outcome.LABEL

    @property
    def display(self) -> str:
        """The label given, or the non-verdict's name (parse_error, refusal, truncated, error)."""
        return self.label if self.label is not None else self.outcome.value
