"""Modules imported on first use, so `modtui --help` never pays for SQLAlchemy, pydantic, Jinja or the SDKs."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands in for a module until an attribute is first read; then it is imported (once, as usual)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """`svc = lazy("modtui.services.replay")` at the top of a CLI module, used as `svc.plan(...)` inside commands."""
    return LazyModule(name)
