"""API keys: read from the environment only, and scrubbed from anything stored or shown."""
from __future__ import annotations

import os
from collections.abc import Iterable

from modtui.domain.target import Target

MASK = "[REDACTED]"
MIN_SECRET_LEN = 6


def key_for(target: Target) -> str | None:
    return os.environ.get(target.api_key_env) if target.api_key_env else None


class Scrubber:
    """Removes every configured key's value (and long pieces of it) from text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)

    @classmethod
    def for_targets(cls, targets: Iterable[Target]) -> "Scrubber":
        return cls(key_for(t) for t in targets)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
            # providers often echo a key shortened, e.g. "sk-test-CA***********3456"
            for head in (secret[:12], secret[-8:]):
                if len(head) >= 8 and head in text:
                    text = text.replace(head, MASK)
        return text
