"""Queries on prompt versions, targets, runs, results and the response cache; runs and results leave as records.

The fast paths are here too: `scoring_rows` and `incident_results` read plain Core tuples (no ORM object per
row) for scoring and the workbench; store.compare pairs two runs in one query for `runs compare`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import exists as sa_exists
from sqlalchemy import func, literal, null
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from modtui.domain.run import RunStatus
from modtui.domain.target import Target
from modtui.domain.verdict import ErrorType, Outcome
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.version import normalised_text
from modtui.store.bulk import insert_many
from modtui.store.db import Store, code_point_order
from modtui.store.incidents import add_event
from modtui.store.compare import answered_by as core_answered_by
from modtui.store.records import AnsweredBy, CachedReply, ResultRecord, RunRecord
from modtui.store.tables import (
    CacheRow,
    IncidentRow,
    ItemRow,
    PromptVersionRow,
    ResultRepeatRow,
    ResultRow,
    RunRow,
    TargetRow,
)
from modtui.timeutil import now_iso

RESUMABLE = tuple(status.value for status in RunStatus if status.resumable)
CHUNK = 500


def run_record(row: RunRow) -> RunRecord:
    return RunRecord.from_columns(row.model_dump())


def result_record(row: ResultRow) -> ResultRecord:
    return ResultRecord(
        run_id=row.run_id,
        item_id=row.item_id,
        outcome=Outcome(row.outcome),
        label=row.label,
        confidence=row.confidence,
        rationale=row.rationale,
        error_type=ErrorType(row.error_type) if row.error_type else None,
        detail=row.detail,
        raw_text=row.raw_text,
        finish_reason=row.finish_reason,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        latency_ms=row.latency_ms,
        cost_usd=row.cost_usd,
        cached=bool(row.cached),
        cache_key=row.cache_key,
        created_at=row.created_at,
        answered_model=row.answered_model,
        system_fingerprint=row.system_fingerprint,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        rules=tuple(json.loads(row.rules_json or "[]")),
        unknown_rules=tuple(json.loads(row.unknown_rules_json or "[]")),
    )


def ensure_prompt_version(session: Session, prompt: LoadedPrompt, source: str) -> None:
    if session.get(PromptVersionRow, prompt.version) is None:
        session.add(
            PromptVersionRow(
                version=prompt.version,
                name=prompt.template.name,
                path=prompt.path,
                normalised=normalised_text(prompt.template),
                source=source,
                created_at=now_iso(),
            )
        )


def ensure_target(session: Session, target: Target) -> str:
    key = target.config_key()
    if session.get(TargetRow, key) is None:
        config = target.model_dump(mode="json")  # holds api_key_env (a name), never a key
        session.add(
            TargetRow(
                key=key,
                name=target.name,
                provider=target.provider,
                model=target.model,
                base_url=target.base_url,
                config_json=json.dumps(config, sort_keys=True),
                created_at=now_iso(),
            )
        )
    return key


def find_resumable(
    session: Session, incident_id: str, target_key: str, version: str, item_set: str
) -> RunRecord | None:
    query = (
        select(RunRow)
        .where(
            RunRow.incident_id == incident_id,
            RunRow.target_key == target_key,
            RunRow.prompt_version == version,
            RunRow.item_set == item_set,
            col(RunRow.status).in_(RESUMABLE),
        )
        .order_by(col(RunRow.id).desc())
    )
    row = session.exec(query).first()
    return run_record(row) if row is not None else None


def reusable_run(
    session: Session, incident_id: str, target_key: str, version: str, item_set: str, digest: str
) -> int | None:
    """The latest completed run with these inputs (services.replay.items_digest: the same items, and the same
    classifier or the same way of rendering prompts and reading replies)."""
    query = (
        sa_select(col(RunRow.id))
        .where(
            col(RunRow.incident_id) == incident_id,
            col(RunRow.target_key) == target_key,
            col(RunRow.prompt_version) == version,
            col(RunRow.item_set) == item_set,
            col(RunRow.status) == RunStatus.COMPLETED.value,
            col(RunRow.items_digest) == digest,
        )
        .order_by(col(RunRow.id).desc())
        .limit(1)
    )
    return session.connection().execute(query).scalar()


def copy_results(session: Session, source_run: int, run_id: int, *, only_cached: bool = False) -> int:
    """Every result of `source_run` as a result of `run_id`, served from the log (cached, no latency, no cost), in
    one INSERT … SELECT: no row comes into Python. Returns how many.

    `only_cached`: only the results whose reply the response cache holds (a call-making target's: what a render
    and a cache look-up would serve; a failed call is not cached and is left to be called again)."""
    table = ResultRow.__table__  # type: ignore[attr-defined]
    cache = CacheRow.__table__  # type: ignore[attr-defined]
    served: dict[str, Any] = {
        "run_id": literal(run_id),
        "cached": literal(True),
        "latency_ms": null(),
        "cost_usd": literal(0.0),
        "created_at": literal(now_iso()),
    }
    names = [c.name for c in table.columns]
    chosen = sa_select(*[served[n].label(n) if n in served else table.c[n] for n in names]).where(
        table.c.run_id == source_run
    )
    if only_cached:
        chosen = chosen.where(sa_exists().where(cache.c.key == table.c.cache_key))
    conn = session.connection()
    before = conn.execute(sa_select(func.count()).where(table.c.run_id == run_id)).scalar_one()
    conn.execute(sa_insert(table).from_select(names, chosen))
    # counted, not the cursor's rowcount: psycopg reports -1 for an INSERT … SELECT with bound parameters
    return int(conn.execute(sa_select(func.count()).where(table.c.run_id == run_id)).scalar_one()) - int(before)


def set_items_digest(session: Session, run_id: int, digest: str) -> None:
    """Record a run's inputs besides the prompt and the target (services.replay.items_digest)."""
    run = session.get_one(RunRow, run_id)
    run.items_digest = digest
    session.add(run)
    session.flush()


def start_run(session: Session, **fields: Any) -> RunRecord:
    run = RunRow(status=RunStatus.RUNNING.value, started_at=now_iso(), **fields)
    session.add(run)
    session.flush()
    return run_record(run)


def resume_run(session: Session, run_id: int, items_total: int) -> RunRecord:
    """A resumable run runs again, now over `items_total` items."""
    run = session.get_one(RunRow, run_id)
    run.status, run.items_total = RunStatus.RUNNING.value, items_total
    session.add(run)
    session.flush()
    return run_record(run)


def done_item_ids(session: Session, run_id: int) -> set[str]:
    return set(session.exec(select(ResultRow.item_id).where(ResultRow.run_id == run_id)))


def insert_results(
    session: Session,
    rows: Sequence[dict[str, Any]],
    cache_rows: Sequence[dict[str, Any]],
    repeat_rows: Sequence[dict[str, Any]] = (),
) -> None:
    """Insert, ignoring rows already present (a concurrent replay of the same run got there first)."""
    insert_many(session, ResultRepeatRow.__table__, repeat_rows, ["run_id", "item_id", "repeat"])  # type: ignore[attr-defined]
    insert_many(session, ResultRow.__table__, rows, ["run_id", "item_id"])  # type: ignore[attr-defined]
    insert_many(session, CacheRow.__table__, cache_rows, ["key"])  # type: ignore[attr-defined]


def cached(session: Session, keys: Iterable[str]) -> dict[str, CachedReply]:
    keys = list(dict.fromkeys(keys))
    out: dict[str, CachedReply] = {}
    for start in range(0, len(keys), CHUNK):
        query = select(CacheRow).where(col(CacheRow.key).in_(keys[start : start + CHUNK]))
        out.update(
            {
                row.key: CachedReply(
                    row.key,
                    row.target_key,
                    row.text,
                    row.refusal,
                    row.finish_reason,
                    row.tokens_in,
                    row.tokens_out,
                    row.raw_json,
                    row.answered_model,
                    row.system_fingerprint,
                    row.cache_read_tokens,
                    row.cache_write_tokens,
                )
                for row in session.exec(query)
            }
        )
    return out


def finish_run(
    store: Store, run_id: int, status: RunStatus, summary: dict[str, Any], error: str | None, author: str, headline: str
) -> None:
    with store.write() as session:
        run = session.get(RunRow, run_id)
        if run is None:
            return
        run.status, run.finished_at, run.error = status.value, now_iso(), error
        run.summary_json = json.dumps(summary, default=str)
        session.add(run)
        add_event(
            session, run.incident_id, "run", headline, author, {"run_id": run_id, "status": status.value, **summary}
        )


def get_run(session: Session, run_id: int) -> RunRecord | None:
    row = session.get(RunRow, run_id)
    return run_record(row) if row is not None else None


def runs_for(session: Session, incident_id: str | None = None, limit: int = 200) -> list[RunRecord]:
    """Runs, newest first (of one incident, or golden set `golden:NAME`, when given)."""
    query = select(RunRow).order_by(col(RunRow.id).desc()).limit(limit)
    if incident_id:
        query = query.where(RunRow.incident_id == incident_id)
    return [run_record(row) for row in session.exec(query)]


def results_of(session: Session, run_id: int) -> list[ResultRecord]:
    """A run's results with their texts, in item order (code points)."""
    query = select(ResultRow).where(ResultRow.run_id == run_id).order_by(code_point_order(session, ResultRow.item_id))
    return [result_record(row) for row in session.exec(query)]


SCORING_COLUMNS = (
    "item_id",
    "outcome",
    "label",
    "error_type",
    "confidence",
    "latency_ms",
    "cost_usd",
    "tokens_in",
    "tokens_out",
    "cached",
)


def scoring_rows(session: Session, run_id: int) -> Sequence[Any]:
    """A run's results as plain tuples of SCORING_COLUMNS (services.scoring.scored_rows): no ORM objects, no reply
    texts. Tens of times faster than results_of on a 50,000-item run; the primary key (run_id, item_id) is the
    index it reads in item order."""
    columns = [col(getattr(ResultRow, name)) for name in SCORING_COLUMNS]
    query = (
        sa_select(*columns)
        .where(col(ResultRow.run_id) == run_id)
        .order_by(code_point_order(session, ResultRow.item_id))
    )
    return session.connection().execute(query).all()  # Core rows (tuples): the ORM's per-row work is not needed


def incident_runs(session: Session, incident_id: str) -> list[tuple[int, str, str, str]]:
    """(run id, target name, prompt version, prompt path) of every run of the incident, oldest first."""
    query = (
        sa_select(col(RunRow.id), col(RunRow.target_name), col(RunRow.prompt_version), col(RunRow.prompt_path))
        .where(col(RunRow.incident_id) == incident_id)
        .order_by(col(RunRow.id))
    )
    rows = session.connection().execute(query).all()
    return cast(list[tuple[int, str, str, str]], rows)  # the id is the primary key: never NULL


def incident_results(session: Session, incident_id: str) -> Sequence[Any]:
    """(run_id, then SCORING_COLUMNS) tuples of every result of every run of the incident, ordered by run.
    Plain Core rows: the workbench holds 100,000 of them."""
    columns = [col(ResultRow.run_id), *(col(getattr(ResultRow, name)) for name in SCORING_COLUMNS)]
    query = (
        sa_select(*columns)
        .join(RunRow, col(ResultRow.run_id) == col(RunRow.id))
        .where(col(RunRow.incident_id) == incident_id)
        .order_by(col(ResultRow.run_id))
    )
    return session.connection().execute(query).all()


def count_incident_results(session: Session, incident_id: str, upto: int | None = None) -> int:
    """The incident's results in the log; with `upto`, counted only up to it (a 1M-result count scans them all)."""
    rows = (
        sa_select(literal(1))
        .select_from(ResultRow)
        .join(RunRow, col(ResultRow.run_id) == col(RunRow.id))
        .where(col(RunRow.incident_id) == incident_id)
    )
    query = sa_select(func.count()).select_from((rows if upto is None else rows.limit(upto)).subquery())
    return int(session.connection().execute(query).scalar_one())


def item_results(session: Session, incident_id: str, item_id: str) -> list[tuple[RunRecord, ResultRecord]]:
    """Every result ever logged for one item of the incident with its run, newest first."""
    query = (
        select(ResultRow, RunRow)
        .join(RunRow, col(ResultRow.run_id) == col(RunRow.id))
        .where(RunRow.incident_id == incident_id, ResultRow.item_id == item_id)
        .order_by(col(ResultRow.created_at).desc(), col(ResultRow.run_id).desc())
    )
    return [(run_record(run), result_record(result)) for result, run in session.exec(query)]


def token_history(session: Session, target_key: str, version: str) -> tuple[int, float, float] | None:
    """(calls, mean input tokens, mean output tokens) of the target's calls with the prompt version (results not
    served from the cache and with token counts), or None when there is none."""
    query = (
        sa_select(func.count(), func.avg(col(ResultRow.tokens_in)), func.avg(col(ResultRow.tokens_out)))
        .join(RunRow, col(RunRow.id) == col(ResultRow.run_id))
        .where(
            col(RunRow.target_key) == target_key,
            col(RunRow.prompt_version) == version,
            col(ResultRow.cached).is_(False),
            col(ResultRow.tokens_in) > 0,
        )
    )
    calls, mean_in, mean_out = session.connection().execute(query).one()
    return (int(calls), float(mean_in), float(mean_out)) if calls else None


def expected_labels(session: Session, incident_id: str) -> dict[str, str]:
    query = sa_select(col(ItemRow.item_id), col(ItemRow.expected)).where(col(ItemRow.incident_id) == incident_id)
    return {item_id: expected for item_id, expected in session.connection().execute(query)}  # Core rows: 3× faster


def positive_label(session: Session, incident_id: str) -> str:
    row = session.get(IncidentRow, incident_id)
    return row.positive_label if row else ""


@dataclass(frozen=True, slots=True)
class RuleCitation:
    """The policy rules one result's verdict cited, in order, and those the prompt's vocabulary did not know."""

    item_id: str
    rules: tuple[str, ...]
    unknown: tuple[str, ...] = ()


def cited_rules(session: Session, run_id: int) -> dict[str, RuleCitation]:
    """item id → the rules its verdict cited, for the results of a run that cite any."""
    query = sa_select(col(ResultRow.item_id), col(ResultRow.rules_json), col(ResultRow.unknown_rules_json)).where(
        col(ResultRow.run_id) == run_id, col(ResultRow.rules_json) != "[]"
    )
    return {
        item_id: RuleCitation(item_id, tuple(json.loads(rules)), tuple(json.loads(unknown)))
        for item_id, rules, unknown in session.connection().execute(query)
    }


def answered_by(session: Session, run_ids: Sequence[int]) -> dict[int, AnsweredBy]:
    """run id → the distinct answering model ids and system fingerprints of its results (empty when none said)."""
    return core_answered_by(session.connection(), run_ids)


def claim_runs(store: Store, run_ids: Sequence[int], expected: RunStatus, new: RunStatus) -> list[RunRecord]:
    """Move the runs still in status `expected` to `new` under the write lock; the runs this call moved."""
    with store.write() as session:
        claimed = []
        for run_id in run_ids:
            row = session.get(RunRow, run_id)
            if row is not None and row.status == expected.value:
                row.status = new.value
                session.add(row)
                claimed.append(run_record(row))
        return claimed


def stored_target(session: Session, key: str) -> dict[str, Any] | None:
    """A target's configuration as recorded when it first ran (names of key variables, never keys)."""
    row = session.get(TargetRow, key)
    return json.loads(row.config_json) if row is not None else None


def stored_prompt(session: Session, version: str) -> tuple[str, str] | None:
    """(YAML source, path) of a prompt version as it was first replayed."""
    row = session.get(PromptVersionRow, version)
    return (row.source, row.path) if row is not None else None
