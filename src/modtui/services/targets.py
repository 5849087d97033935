"""The target a recorded run or batch was made with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modtui.domain.target import Target
from modtui.errors import Problem, UsageError

if TYPE_CHECKING:
    from modtui.workspace import Workspace


def recorded_target(ws: Workspace, target_key: str, name: str) -> Target:
    """The configured target when it is unchanged (its prices may have been updated), else as stored in the log."""
    from modtui.store.runs import stored_target

    configured = ws.config.targets.get(name)
    if configured is not None and configured.config_key() == target_key:
        return configured
    with ws.store().read() as session:
        config = stored_target(session, target_key)
    if config is None:
        raise UsageError(Problem("target", f"target {name} ({target_key}) is not in the log"))
    return Target.model_validate(config)
