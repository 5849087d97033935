"""The one sandboxed Jinja environment. Item content is only ever a value, never template source."""
from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, Template, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=False
    )


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    return environment().from_string(source)


def variables_used(source: str) -> set[str]:
    """Undeclared variables a template reads (raises jinja2.TemplateSyntaxError on bad syntax)."""
    return set(meta.find_undeclared_variables(environment().parse(source)))
