"""Modules and functions imported at first use, for test modules whose heavy imports only some tests need.

Every pytest worker imports every test module while collecting, so a module-level `import anthropic` (~2 s of CPU)
or `import sklearn` is paid by every worker, whether or not it runs a test that uses it. Through these it is paid
by the worker that does, at the first attribute access or call.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A module imported at its first attribute access: `np = LazyModule("numpy")`, then `np.array(...)`."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):  # pytest looks for its markers on every name in a test module: not an import
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazily imported {self._name}>"


def lazy_function(module: str, name: str) -> Any:
    """`module.name`, imported at its first call."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
