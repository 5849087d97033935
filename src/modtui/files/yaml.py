"""YAML with positions: values plus a map from key paths to (line, col), duplicates rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modtui.errors import InputError, Problem
from modtui.files.text import read_text

MAX_VALUES = 200_000  # far beyond any incident or prompt file; bounds alias expansion
MAX_DEPTH = 64  # nesting; deeper is a located problem, never a RecursionError
Loc = tuple[int, int]  # 1-based line, col
KeyPath = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed YAML document with the position of every value and every mapping key."""

    path: str
    data: Any
    values: dict[KeyPath, Loc] = field(default_factory=dict)
    keys: dict[KeyPath, Loc] = field(default_factory=dict)
    block_scalars: set[KeyPath] = field(default_factory=set)

    def where(self, loc: KeyPath, *, key: bool = False) -> Loc | None:
        """The position of `loc`, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        for end in range(len(loc), -1, -1):
            prefix = tuple(loc[:end])
            found = table.get(prefix) or self.values.get(prefix)
            if found:
                return found
        return None

    def problem(self, loc: KeyPath, message: str, *, key: bool = False) -> Problem:
        at = self.where(loc, key=key)
        return Problem(self.path, message, *(at or (None, None)))


def _mark(node: yaml.Node) -> Loc:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, path: str) -> None:
        self.doc = Located(path, None)
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")
        self.built = 0

    def build(self, node: yaml.Node, at: KeyPath) -> Any:
        self.built += 1
        if len(at) > MAX_DEPTH:
            raise InputError(Problem(self.doc.path, f"nested more than {MAX_DEPTH} levels deep", *_mark(node)))
        if self.built > MAX_VALUES:  # aliases of aliases expand exponentially ("billion laughs")
            raise InputError(
                Problem(
                    self.doc.path,
                    f"more than {MAX_VALUES:,} values once YAML aliases are expanded; write the values out instead",
                    *_mark(node),
                )
            )
        self.doc.values[at] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, at)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, at + (i,)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self.doc.block_scalars.add(at)
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # "\ud83d" in a double-quoted scalar: no character
                raise InputError(
                    Problem(
                        self.doc.path,
                        f"a lone surrogate (\\u{ord(value[exc.start]):04x}) is not a character",
                        *_mark(node),
                    )
                ) from None
        return value

    def _mapping(self, node: yaml.MappingNode, at: KeyPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                self.problems.append(Problem(self.doc.path, "mapping keys must be plain names", *_mark(key_node)))
                continue
            key = str(key)
            if key in out:
                first = self.doc.keys[at + (key,)]
                self.problems.append(
                    Problem(
                        self.doc.path, f"duplicate key '{key}' (first defined on line {first[0]})", *_mark(key_node)
                    )
                )
                continue
            self.doc.keys[at + (key,)] = _mark(key_node)
            out[key] = self.build(value_node, at + (key,))
        return out


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str) -> Problem:
    """Where PyYAML noticed the problem, plus where the construct it was reading began.

    An unclosed quote or bracket is only noticed at the end of the file; then the line where
    the construct started is the one to fix, so the problem is located there instead.
    """
    problem, context = exc.problem_mark, exc.context_mark
    reason = exc.problem or exc.context or "invalid YAML"
    mark = problem or context
    if context is not None and problem is not None and exc.context:
        at_end = problem.index >= len(problem.buffer or "") - 2 or "end of stream" in (exc.problem or "")
        if at_end:
            mark = context
            what = exc.context.removeprefix("while scanning ").removeprefix("while parsing ")
            reason = f"{what} that starts here is never closed (the file ends first)"
        elif context.line != problem.line:
            reason += f" ({exc.context} started on line {context.line + 1})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return Problem(path, f"YAML syntax error: {reason}", line, col)


def parse_yaml(text: str, path: str) -> Located:
    """Parse one YAML document; syntax errors and duplicate keys raise InputError with positions."""
    if not text.strip():
        raise InputError(Problem(path, "file is empty", 1))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # PyYAML's parser recurses once per level
        raise InputError(Problem(path, f"nested more than {MAX_DEPTH} levels deep", _deep_line(text))) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError(_syntax_problem(exc, path)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(path, f"YAML error: {exc}")) from None
    if node is None:
        raise InputError(Problem(path, "file has no content (only comments?)", 1))
    builder = _Builder(path)
    try:
        builder.doc.data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise InputError(Problem(path, f"YAML error: {exc.problem}", line, column)) from None
    if builder.problems:
        raise InputError(builder.problems)
    return builder.doc


def _deep_line(text: str) -> int | None:
    """The first line where flow brackets or block indentation go deeper than MAX_DEPTH levels (best effort)."""
    flow = 0
    indents: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
        for char in stripped:
            flow += (char in "[{") - (char in "]}")
            if flow > MAX_DEPTH or len(indents) > MAX_DEPTH:
                return number
    return None


def load_yaml(path: Path, display: str | None = None) -> Located:
    shown = display or str(path)
    return parse_yaml(read_text(path, shown), shown)
