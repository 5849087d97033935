"""SQLModel tables of the log. Their shape is created and changed only by store/migrations.py."""

from __future__ import annotations

from typing import Optional

from sqlmodel import Field, SQLModel


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    id: str = Field(primary_key=True)
    title: str
    severity: str
    status: str
    policy: str
    positive_label: str
    labels_json: str
    production_prompt: str
    production_model: str
    opened_at: Optional[str] = None
    description: str = ""
    source_hash: str = ""
    loaded_at: str = ""
    files_hash: Optional[str] = None  # m005: incidents.loader.read_files' fingerprint of files that passed every check


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"
    incident_id: str = Field(primary_key=True, foreign_key="incident.id")
    item_id: str = Field(primary_key=True)
    content: str
    expected: str
    observed: Optional[str] = None
    kind: str
    meta_json: str = "{}"
    # m008: an evasion probe's variant (in a `probe:INC` pseudo-incident) names its parent item, mutation and seed
    parent_id: Optional[str] = None
    mutation: Optional[str] = None
    seed: Optional[int] = None
    annotations_json: Optional[str] = None  # m007: {"annotator": "label", ...}


class PromptVersionRow(SQLModel, table=True):
    __tablename__ = "prompt_version"
    version: str = Field(primary_key=True)
    name: str
    path: str
    normalised: str
    source: str
    created_at: str


class TargetRow(SQLModel, table=True):
    __tablename__ = "target"
    key: str = Field(primary_key=True)
    name: str
    provider: str
    model: str
    base_url: Optional[str] = None
    config_json: str
    created_at: str


class RunRow(SQLModel, table=True):
    __tablename__ = "run"
    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id")
    target_key: str = Field(foreign_key="target.key")
    target_name: str
    prompt_version: str = Field(foreign_key="prompt_version.version")
    prompt_path: str
    item_set: str
    status: str
    author: str
    started_at: str
    finished_at: Optional[str] = None
    items_total: int = 0
    baseline_run_id: Optional[int] = None
    summary_json: str = "{}"
    error: Optional[str] = None
    items_digest: Optional[str] = None  # m009: a deterministic target's inputs besides the prompt (services.replay)
    repeats: int = 1  # m008: calls per item (`replay --repeat N`); repeats 2..N are in result_repeat


class ResultRow(SQLModel, table=True):
    __tablename__ = "result"
    run_id: int = Field(primary_key=True, foreign_key="run.id")
    item_id: str = Field(primary_key=True)
    outcome: str
    label: Optional[str] = None
    confidence: Optional[float] = None
    rationale: Optional[str] = None
    error_type: Optional[str] = None
    detail: Optional[str] = None
    raw_text: Optional[str] = None
    finish_reason: Optional[str] = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: Optional[float] = None
    cost_usd: float = 0.0
    cached: bool = False
    cache_key: Optional[str] = None
    created_at: str = ""
    answered_model: Optional[str] = None  # m006: the model id the reply names (`model`)
    system_fingerprint: Optional[str] = None  # m006: OpenAI's backend configuration id
    cache_read_tokens: int = 0  # m006: prompt tokens read from the provider's cache (part of tokens_in)
    cache_write_tokens: int = 0  # m006: prompt tokens written to it (part of tokens_in)
    rules_json: str = "[]"  # m006: policy rules the verdict cited, in order
    unknown_rules_json: str = "[]"  # m006: the cited names the prompt's rule vocabulary does not know


class ResultRepeatRow(SQLModel, table=True):
    """Repeat 2..N of an item's call in a `replay --repeat N` run (repeat 1 is the run's result row)."""

    __tablename__ = "result_repeat"
    run_id: int = Field(primary_key=True, foreign_key="run.id")
    item_id: str = Field(primary_key=True)
    repeat: int = Field(primary_key=True)
    outcome: str
    label: Optional[str] = None
    confidence: Optional[float] = None
    rationale: Optional[str] = None
    error_type: Optional[str] = None
    detail: Optional[str] = None
    raw_text: Optional[str] = None
    finish_reason: Optional[str] = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: Optional[float] = None
    cost_usd: float = 0.0
    cached: bool = False
    cache_key: Optional[str] = None
    created_at: str = ""
    answered_model: Optional[str] = None  # m006, as on result
    system_fingerprint: Optional[str] = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    rules_json: str = "[]"
    unknown_rules_json: str = "[]"


class CacheRow(SQLModel, table=True):
    __tablename__ = "response_cache"
    key: str = Field(primary_key=True)
    target_key: str
    text: Optional[str] = None
    refusal: Optional[str] = None
    finish_reason: Optional[str] = None
    tokens_in: int = 0
    tokens_out: int = 0
    raw_json: Optional[str] = None
    created_at: str
    answered_model: Optional[str] = None  # m006
    system_fingerprint: Optional[str] = None  # m006
    cache_read_tokens: int = 0  # m006
    cache_write_tokens: int = 0  # m006


class FindingRow(SQLModel, table=True):
    __tablename__ = "finding"
    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id")
    category: str
    summary: str
    fix: Optional[str] = None
    status: str = "open"
    author: str
    created_at: str
    resolved_at: Optional[str] = None
    resolution: Optional[str] = None
    superseded_by: Optional[int] = None
    items_json: str = "[]"
    runs_json: str = "[]"
    corrected_labels_json: str = "{}"


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id")
    at: str
    author: str
    kind: str
    summary: str
    data_json: str = "{}"


class BatchRow(SQLModel, table=True):
    """One provider batch of a `replay --batch` submission (status submitted → ended, or failed)."""

    __tablename__ = "batch"
    id: Optional[int] = Field(default=None, primary_key=True)
    submission: str
    incident_id: str = Field(foreign_key="incident.id")
    target_key: str = Field(foreign_key="target.key")
    target_name: str
    provider: str
    provider_batch_id: str
    status: str
    provider_status: Optional[str] = None
    requests: int = 0
    run_ids_json: str = "[]"
    spec_json: str = "{}"
    author: str
    submitted_at: str
    ended_at: Optional[str] = None
    error: Optional[str] = None


class BatchRequestRow(SQLModel, table=True):
    """One request of a provider batch: which run and item its reply belongs to, and its cache key."""

    __tablename__ = "batch_request"
    batch_id: int = Field(primary_key=True, foreign_key="batch.id")
    custom_id: str = Field(primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    item_id: str
    cache_key: str
    truncated: bool = False
