"""What a replay run and a provider batch can be: their statuses, as the log records them."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run never vanishes: it starts `running` (or `submitted`, waiting on a provider batch) and ends
    `completed`, `interrupted`, `failed` or `stopped_budget`."""

    RUNNING = "running"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    STOPPED_BUDGET = "stopped_budget"  # a cost cap was reached: kept, and resumable with a higher cap

    @property
    def resumable(self) -> bool:
        """A replay of the same incident × target × prompt × item set continues this run instead of starting one
        (a submitted run waits for `runs poll`)."""
        return self in (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.FAILED, RunStatus.STOPPED_BUDGET)


class BatchStatus(StrEnum):
    """A provider batch of `replay --batch`: `submitted`, then `ended` (results collected) or `failed`."""

    SUBMITTED = "submitted"
    ENDED = "ended"
    FAILED = "failed"
