"""The one sandboxed Jinja environment. Item content is only ever a value, never template source.

A template is code from a file, so it renders under limits (`LIMITS`): numbers of at most 4,096 bits,
at most 1,000,000 characters of output or of any string or list it builds, at most 100,000 loop or block
passes, and 2 seconds of wall time. Going over raises `TemplateLimitError`, which the loader reports at the
template's line (exit 2) and a replay records as that item's render error. Nothing is evaluated while
compiling: the operators that could be costly are intercepted, so Jinja does not fold them as constants.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, meta
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment


@dataclass(frozen=True)
class Limits:
    int_bits: int = 4096
    chars: int = 1_000_000
    steps: int = 100_000
    seconds: float = 2.0


LIMITS = Limits()
_WIDE = re.compile(r"%[-+ #0]*(\*|\d{7,})")  # "%99999999s" (or a width given as an argument)


class TemplateLimitError(RuntimeError):
    """A template went over one of LIMITS while rendering."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


class _LimitedCodeGenerator(CodeGenerator):
    """Every block body (a loop's, an if's, a macro's) starts by spending one step of the render's budget."""

    def blockvisit(self, body: Any, frame: Frame) -> None:
        self.writeline("environment.tick()")
        super().blockvisit(body, frame)

    def visit_Concat(self, node: Any, frame: Frame) -> None:  # `a ~ b`: its size is checked (doubling in a loop)
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"**", "*", "+", "//", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _sized(f) for name, f in self.filters.items()}

    def tick(self) -> None:
        budget = _BUDGET.get()
        if budget is None:
            return
        budget.steps += 1
        if budget.steps > LIMITS.steps:
            raise TemplateLimitError(f"more than {LIMITS.steps:,} loop passes")
        if budget.steps % 256 == 0:
            _check_time(budget)

    def sized(self, value: Any) -> Any:
        if isinstance(value, (str, list, tuple)):
            _check_size(len(value))
        return value

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and _is_int(left) and _is_int(right) and right > 0:
            if abs(left) > 1 and right * math.log2(abs(left)) > LIMITS.int_bits:
                raise TemplateLimitError(f"{left} ** {right} is over {LIMITS.int_bits:,} bits")
        elif op == "*":
            _check_product(left, right)
        elif op == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _check_size(len(left) + len(right))
        elif op == "%" and isinstance(left, str) and _WIDE.search(left):
            raise TemplateLimitError(f"a format width over {LIMITS.chars:,}")
        result = self.sized(super().call_binop(context, op, left, right))
        if _is_int(result) and result.bit_length() > LIMITS.int_bits:
            raise TemplateLimitError(f"a number over {LIMITS.int_bits:,} bits")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        _check_counts(args, kwargs)
        return __self.sized(super().call(__context, __obj, *args, **kwargs))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_product(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        if left.bit_length() + right.bit_length() > LIMITS.int_bits:
            raise TemplateLimitError(f"a number over {LIMITS.int_bits:,} bits")
        return
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and _is_int(times):
            _check_size(len(seq) * max(times, 0))


def _check_size(size: int) -> None:
    if size > LIMITS.chars:
        raise TemplateLimitError(f"a value of {size:,} characters or items (the limit is {LIMITS.chars:,})")


def _check_counts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Widths and counts given to filters and functions (center(99999999), indent, wordwrap, range)."""
    for value in (*args, *kwargs.values()):
        if _is_int(value) and abs(value) > LIMITS.chars:
            raise TemplateLimitError(f"{value:,} is over the limit of {LIMITS.chars:,}")


def _check_time(budget: _Budget) -> None:
    if time.monotonic() > budget.deadline:
        raise TemplateLimitError(f"rendering took over {LIMITS.seconds:g} s")


def _sized(f: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        _check_counts(args[1:], kwargs)
        result = f(*args, **kwargs)
        if isinstance(result, (str, list)):
            _check_size(len(result))
        return result

    for attribute in ("jinja_pass_arg", "__name__", "__doc__"):  # @pass_context and friends keep working
        if hasattr(f, attribute):
            setattr(checked, attribute, getattr(f, attribute))
    return checked


@lru_cache(maxsize=1)
def environment() -> LimitedSandbox:
    return LimitedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=False)


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    return environment().from_string(source)


def render_limited(template: Template, values: dict[str, Any]) -> str:
    """`template.render(values)` under LIMITS (TemplateLimitError when over one)."""
    budget = _Budget(time.monotonic() + LIMITS.seconds)
    token = _BUDGET.set(budget)
    try:
        chunks: list[str] = []
        size = 0
        for chunk in _generate(template, values):
            size += len(chunk)
            _check_size(size)
            chunks.append(chunk)
            _check_time(budget)
        return "".join(chunks)
    finally:
        _BUDGET.reset(token)


def _generate(template: Template, values: dict[str, Any]) -> Iterator[str]:
    return template.generate(values)


def variables_used(source: str) -> set[str]:
    """Undeclared variables a template reads (raises jinja2.TemplateSyntaxError on bad syntax)."""
    return set(meta.find_undeclared_variables(environment().parse(source)))
