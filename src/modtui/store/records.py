"""What the store hands out: frozen records of plain values and domain enums, never ORM rows.

A record is read once from the log and holds no session, so services and faces can keep it, pass it to a
thread or compare it without touching the database again. JSON columns arrive decoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modtui.domain.run import BatchStatus, RunStatus
from modtui.domain.verdict import ErrorType, Outcome


@dataclass(frozen=True, slots=True)
class AnsweredBy:
    """Which models the provider says answered a run's calls, and OpenAI's backend fingerprints, sorted."""

    models: tuple[str, ...] = ()
    system_fingerprints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One replay run: one target × one prompt version over one item set of one incident (or golden set)."""

    id: int
    incident_id: str
    target_key: str
    target_name: str
    prompt_version: str
    prompt_path: str
    item_set: str
    status: RunStatus
    author: str
    started_at: str
    finished_at: str | None = None
    items_total: int = 0
    baseline_run_id: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # the metrics and flips counts recorded at its end
    error: str | None = None
    repeats: int = 1  # calls per item (`replay --repeat N`); repeats 2..N are in the log's result_repeat
    items_digest: str | None = None  # a deterministic target's inputs besides the prompt (services.replay)

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> RunRecord:
        """From the `run` table's columns (an ORM row's attributes or a Core row's mapping)."""
        return cls(
            id=int(row["id"]),
            incident_id=row["incident_id"],
            target_key=row["target_key"],
            target_name=row["target_name"],
            prompt_version=row["prompt_version"],
            prompt_path=row["prompt_path"],
            item_set=row["item_set"],
            status=RunStatus(row["status"]),
            author=row["author"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            items_total=row["items_total"],
            baseline_run_id=row["baseline_run_id"],
            summary=json.loads(row["summary_json"] or "{}"),
            error=row["error"],
            repeats=row.get("repeats", 1),
            items_digest=row.get("items_digest"),
        )


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One item's result in one run: a verdict (outcome `label`) or a typed non-verdict with its raw text."""

    run_id: int
    item_id: str
    outcome: Outcome
    label: str | None = None
    confidence: float | None = None
    rationale: str | None = None
    error_type: ErrorType | None = None  # why the call failed (outcome `error`)
    detail: str | None = None
    raw_text: str | None = None
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float | None = None
    cost_usd: float = 0.0
    cached: bool = False
    cache_key: str | None = None
    created_at: str = ""
    answered_model: str | None = None  # the model id the reply names
    system_fingerprint: str | None = None  # OpenAI's backend configuration id
    cache_read_tokens: int = 0  # prompt tokens read from the provider's cache (part of tokens_in)
    cache_write_tokens: int = 0  # prompt tokens written to it (part of tokens_in)
    rules: tuple[str, ...] = ()  # policy rules the verdict cited, in order
    unknown_rules: tuple[str, ...] = ()  # cited names the prompt's rule vocabulary does not know

    @property
    def verdict(self) -> str | None:
        """The label given, or the non-verdict's name (parse_error, refusal, truncated, error)."""
        return self.label if self.outcome is Outcome.LABEL else self.outcome.value


@dataclass(frozen=True, slots=True)
class CachedReply:
    """A provider reply kept in the response cache, reused for the same target, messages and params."""

    key: str
    target_key: str
    text: str | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    raw_json: str | None = None
    answered_model: str | None = None
    system_fingerprint: str | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One line of an incident's timeline: a run, a finding, a status change, an import."""

    id: int
    incident_id: str
    at: str
    author: str
    kind: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One provider batch of a `replay --batch` submission and the runs its replies belong to."""

    id: int
    submission: str
    incident_id: str
    target_key: str
    target_name: str
    provider: str
    provider_batch_id: str
    status: BatchStatus
    author: str
    submitted_at: str
    provider_status: str | None = None
    requests: int = 0
    run_ids: tuple[int, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)
    ended_at: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BatchRequestRecord:
    """One request of a provider batch: the run and item its reply belongs to, and its cache key."""

    batch_id: int
    custom_id: str
    run_id: int
    item_id: str
    cache_key: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """What one run's result for an item says (store.compare): outcome, label, error type, and whether the reply
    came from the response cache."""

    outcome: str
    label: str | None
    error_type: str | None
    cached: bool


@dataclass(frozen=True, slots=True)
class PairGroup:
    """`count` items of an incident with the same gold label and the same answer from runs a and b (None: the run
    has no result for them). `ids` names the items when the two answers differ (outcome, label or error type) or
    a side is missing, in no particular order; it is empty when they agree."""

    expected: str
    a: Answer | None
    b: Answer | None
    count: int
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunTotals:
    """One run's results over the incident's items: costs in item order (code points: a float sum depends on its
    order), latencies in no particular order (None where a result has none), token sums."""

    costs: tuple[float, ...] = ()
    latencies: tuple[float | None, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True, slots=True)
class PairTally:
    """Two runs of one incident paired and counted by the log (store.compare.tally): what `runs compare` needs."""

    groups: tuple[PairGroup, ...]
    a: RunTotals
    b: RunTotals


@dataclass(frozen=True, slots=True)
class ResultGroup:
    """`count` results of one run (store.tally) for items with the same gold label, giving the same answer with the
    same confidence."""

    expected: str
    outcome: str
    label: str | None
    error_type: str | None
    cached: bool
    confidence: float | None
    count: int


@dataclass(frozen=True, slots=True)
class RunTally:
    """One run's results over the incident's items, counted by the log (store.tally.run_tally): its report's input."""

    groups: tuple[ResultGroup, ...]
    totals: RunTotals
