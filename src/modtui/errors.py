"""One family of errors. The CLI edge prints them as `path:line:col: message` and exits 2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    path: str
    message: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class ModtuiError(Exception):
    """Base of every error modtui raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 2


class InputError(ModtuiError):
    """Bad input: one or more located problems in files, arguments or replies."""

    def __init__(self, problems: Iterable[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("modtui", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(InputError):
    """Bad workspace configuration (modtui.toml, environment)."""


class UsageError(InputError):
    """A command was asked for something that does not exist or cannot be done."""


class StoreError(ModtuiError):
    """The log cannot be opened or used (e.g. written by a newer modtui)."""


class ProviderError(ModtuiError):
    """A provider could not be set up at all (calls that fail are recorded results, not this)."""
