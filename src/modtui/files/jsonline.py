"""One JSON value from one line of a file, within limits a hostile line cannot break: nesting at most
MAX_DEPTH levels (deeper is a located problem, never a RecursionError) and no lone surrogate (`"\\ud83d"`
is valid JSON but no character: it could be read, then never written or shown)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

MAX_DEPTH = 64
_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<![0-9a-fA-F]{4})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class JsonLineError(ValueError):
    """What is wrong with the line, and the 1-based column where it shows (None when unknown)."""

    def __init__(self, message: str, col: int | None) -> None:
        super().__init__(message)
        self.message, self.col = message, col


def parse_json_line(raw: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """`json.loads(raw)` within the limits; json.JSONDecodeError for bad syntax, JsonLineError for the rest."""
    try:
        # json.loads builds a decoder per call; it also names a BOM, which the decoder alone reads as bad syntax
        data = json.loads(raw) if raw.startswith("\ufeff") else _decoder(object_pairs_hook).decode(raw)
    except RecursionError:
        raise _too_deep(raw) from None
    # each level of nesting opens with a bracket: a line with few brackets cannot be too deep (a count in C)
    if raw.count("[") + raw.count("{") > MAX_DEPTH and _depth_over(data, MAX_DEPTH):
        raise _too_deep(raw)
    if "\\u" in raw and _has_surrogate(data):
        at = _SURROGATE.search(raw)
        shown = at.group(0) if at else "an unpaired \\uD800-\\uDFFF escape"
        raise JsonLineError(
            f"a lone surrogate ({shown}) is not a character; fix the export (its encoder split an emoji)",
            at.start() + 1 if at else None,
        )
    return data


@functools.lru_cache(maxsize=8)
def _decoder(object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> json.JSONDecoder:
    """The decoder `json.loads(raw, object_pairs_hook=...)` builds for every call (~1/4 of a short line's time)."""
    return json.JSONDecoder(object_pairs_hook=object_pairs_hook)


def _too_deep(raw: str) -> JsonLineError:
    return JsonLineError(f"nested more than {MAX_DEPTH} levels deep", _column_over(raw, MAX_DEPTH))


def _depth_over(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _has_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _column_over(raw: str, limit: int) -> int | None:
    """The column of the bracket that opens level `limit + 1` (strings skipped); stops there."""
    depth, in_string, escaped = 0, False, False
    for col, char in enumerate(raw, start=1):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return col
        elif char in "]}":
            depth -= 1
    return None
