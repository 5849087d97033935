"""API keys: read from the environment only, and scrubbed from anything stored or shown."""

from __future__ import annotations

import os
from collections.abc import Iterable

from modtui.domain.target import Target

MASK = "[REDACTED]"
MIN_SECRET_LEN = 6
MIN_FRAGMENT = 8  # a piece of a key at least this long is masked wherever it appears
_STEP = MIN_FRAGMENT // 2
# keys the official SDKs read on their own when a target names no variable (or an unset one)
SDK_KEY_ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def key_for(target: Target) -> str | None:
    return os.environ.get(target.api_key_env) if target.api_key_env else None


class Scrubber:
    """Removes every configured key's value, and every piece of one at least MIN_FRAGMENT long, from text.

    Providers echo keys whole, cut ("sk-test-CA…********…4086") or in the middle of other text; any run of
    characters that is a substring of a key (MIN_FRAGMENT or longer) is replaced by MASK.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)
        # every key's pieces of a quarter of the fragment length: a fragment of MIN_FRAGMENT - 1 or more
        # characters anywhere in a text always covers one of them at a position that is a multiple of _STEP
        self._grams = {s[i : i + _STEP] for s in self.secrets for i in range(len(s) - _STEP + 1)}

    @classmethod
    def for_targets(cls, targets: Iterable[Target]) -> "Scrubber":
        sdk_defaults = (os.environ.get(name) for name in SDK_KEY_ENVS)
        return cls([*(key_for(t) for t in targets), *sdk_defaults])

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return self._mask_fragments(text)

    def _mask_fragments(self, text: str) -> str:
        spans: list[tuple[int, int]] = []
        for i in range(0, len(text) - _STEP + 1, _STEP):
            if text[i : i + _STEP] not in self._grams or (spans and i < spans[-1][1]):
                continue
            start, end = self._widest(text, i)
            if end - start < MIN_FRAGMENT:
                continue
            if spans and start < spans[-1][1]:  # touches the previous piece: one span
                start = spans.pop()[0]
            spans.append((start, end))
        for start, end in reversed(spans):
            text = text[:start] + MASK + text[end:]
        return text

    def _widest(self, text: str, i: int) -> tuple[int, int]:
        """The longest run around text[i:i+_STEP] that is a substring of one key."""
        best = (i, i)
        for secret in self.secrets:
            start, end = i, i + _STEP
            if text[start:end] not in secret:
                continue
            while end < len(text) and text[start : end + 1] in secret:
                end += 1
            while start > 0 and text[start - 1 : end] in secret:
                start -= 1
            if end - start > best[1] - best[0]:
                best = (start, end)
        return best
