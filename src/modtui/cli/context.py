"""Per-invocation state shared by subcommands: the workspace, opened lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when first used: `modtui --help` must not load the store
    from modtui.workspace import Workspace


@dataclass
class AppContext:
    workspace_dir: str | None
    db: str | None
    debug: bool = False
    _ws: Workspace | None = field(default=None, repr=False)

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from modtui.workspace import Workspace

            self._ws = Workspace.open(self.workspace_dir, self.db)
        return self._ws

    @property
    def log_ws(self) -> Workspace:
        """The workspace of a command that reads the log and needs no target: its modtui.toml is read (and a bad
        one reported, exit 2) only if something uses it, so pydantic stays out of the command's start-up."""
        if self._ws is None:
            from modtui.workspace import Workspace

            self._ws = Workspace.open(self.workspace_dir, self.db, config=False)
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
