"""Redaction for reports that leave the team: personal data and item content out, ids and numbers kept.

Personal data: e-mail addresses, URLs (with a scheme, `www.`, or a bare domain on a common TLD),
phone numbers (7+ digits in groups, optional +country code and (area)), and @handles. Item content
is replaced wherever it is quoted verbatim (whole content, or any of its lines of 12+ characters).
"""

from __future__ import annotations

import re
from functools import partial
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
_TLDS = (
    "com|org|net|edu|gov|io|co|me|ly|gg|tv|info|biz|app|dev|xyz|ai|us|uk|de|fr|es|it|nl|ca|au|in|br|ru|jp|"
    "cn|eu|site|online|shop|link|club|top|live|news|blog|social"
)
_TAIL = r"(?:\S*[^\s.,;:!?)\]'\"])?"  # a URL's rest, without trailing punctuation
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(rf"\b(?:https?|ftp)://{_TAIL}|\bwww\.{_TAIL}", re.IGNORECASE), "[url]"),
    (re.compile(rf"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?:/{_TAIL})?", re.IGNORECASE), "[url]"),
    (
        re.compile(
            r"(?<![\w.+-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,3}(?![\w-])"
            r"|(?<![\w.+-])\+?\d{7,15}(?![\w-])"
        ),
        "[phone]",
    ),
    (re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"), "[handle]"),
)
_MIN_LINE = 12


def redact_text(text: str, contents: Iterable[str] = ()) -> str:
    """`text` with quoted item content and personal data replaced by placeholders."""
    for content in sorted(_fragments(contents), key=len, reverse=True):
        text = text.replace(content, REDACTED)
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(partial(_keep_or, placeholder=placeholder), text)
    return text


def _keep_or(match: re.Match[str], placeholder: str) -> str:
    """Phone-like matches that are plainly numbers of ours (dates, times, versions) are kept."""
    value = match.group(0)
    if placeholder == "[phone]" and (_DATE.fullmatch(value) or sum(c.isdigit() for c in value) < 7):
        return value
    return placeholder


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _fragments(contents: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for content in contents:
        stripped = content.strip()
        if len(stripped) >= 4:
            out.add(stripped)
        out.update(line.strip() for line in content.splitlines() if len(line.strip()) >= _MIN_LINE)
    return out


def redact_data(data: Any, contents: Iterable[str] = (), keep: frozenset[str] = frozenset()) -> Any:
    """Every string in a JSON-like structure redacted, except values under keys in `keep` (ids, times, versions)."""
    fragments = _fragments(contents)
    return _walk(data, fragments, keep)


def _walk(data: Any, fragments: set[str], keep: frozenset[str]) -> Any:
    if isinstance(data, str):
        return redact_text(data, fragments)
    if isinstance(data, Mapping):
        return {
            k: v if k in keep and not isinstance(v, (Mapping, list)) else _walk(v, fragments, keep)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_walk(v, fragments, keep) for v in data]
    return data
