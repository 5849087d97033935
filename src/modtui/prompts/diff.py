"""Line diffs between prompt files: unified text, and the changed line numbers on each side."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class LineChanges:
    left: frozenset[int]  # 0-based lines of `a` that differ
    right: frozenset[int]  # 0-based lines of `b` that differ


def unified(a: str, b: str, a_name: str = "a", b_name: str = "b", context: int = 3) -> str:
    lines = difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), fromfile=a_name, tofile=b_name, n=context
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def changed_lines(a: str, b: str) -> LineChanges:
    left: set[int] = set()
    right: set[int] = set()
    matcher = difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            left.update(range(i1, i2))
            right.update(range(j1, j2))
    return LineChanges(frozenset(left), frozenset(right))
