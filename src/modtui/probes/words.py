"""The words a mutation may change: runs of letters, away from digits, URLs, e-mail addresses and @handles.

Mutations share this so that every one of them leaves the same things alone: a token that mixes letters and
digits (`mp3`, `24h`) and the parts of a text that are addresses rather than language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_PROTECTED = re.compile(r"[^\s@]+@[^\s@]+\.[^\W\d_]{2,}|(?:https?://|www\.)\S+|(?<![\w@])@\w+")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Word:
    start: int
    end: int
    text: str


def words(text: str, min_length: int = 1) -> list[Word]:
    """Letter runs of at least `min_length` letters that touch no digit or underscore and lie outside addresses."""
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    out = []
    for m in _LETTERS.finditer(text):
        start, end = m.span()
        if end - start < min_length or _touches_digit(text, start, end):
            continue
        if any(s < end and start < e for s, e in protected):
            continue
        out.append(Word(start, end, m.group(0)))
    return out


def _touches_digit(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    return any(c.isdigit() or c == "_" for c in before + after)


def rewrite(text: str, chosen: list[Word], change: Callable[[Word], str]) -> str:
    """`text` with each chosen word replaced by `change(word)`."""
    parts, at = [], 0
    for word in sorted(chosen, key=lambda w: w.start):
        parts += [text[at : word.start], change(word)]
        at = word.end
    return "".join(parts) + text[at:]


def gaps(text: str) -> Iterator[re.Match[str]]:
    """The whitespace runs between two non-space characters."""
    return re.finditer(r"(?<=\S)\s+(?=\S)", text)
