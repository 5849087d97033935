"""Queries on prompt versions, targets, runs, results and the response cache; runs and results leave as records.

Core statements only (store.sql: no ORM object per row, no SQLModel import, which `modtui replay` would pay
before its first call); each function takes a Core connection or an ORM session. `scoring_rows` and
`incident_results` read plain tuples for scoring and the workbench; store.compare pairs two runs in one query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, bindparam, text

from modtui.domain.run import RunStatus
from modtui.domain.target import Target
from modtui.domain.verdict import ErrorType, Outcome
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.version import normalised_text
from modtui.store import sql
from modtui.store.bulk import insert_many
from modtui.store.compare import answered_by as core_answered_by
from modtui.store.db import Store
from modtui.store.incidents import add_event
from modtui.store.records import AnsweredBy, CachedReply, ResultRecord, RunRecord
from modtui.timeutil import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

RESUMABLE = tuple(status.value for status in RunStatus if status.resumable)
CHUNK = 500


def run_record(row: Mapping[str, Any]) -> RunRecord:
    return RunRecord.from_columns(row)


def result_record(row: Any) -> ResultRecord:
    """A record from a `result` row (a Core row: its columns as attributes)."""
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


def ensure_prompt_version(db: Connection | Session, prompt: LoadedPrompt, source: str) -> None:
    conn = sql.connection_of(db)
    if sql.first(conn, "SELECT 1 FROM prompt_version WHERE version = :v", {"v": prompt.version}) is None:
        values = {
            "version": prompt.version,
            "name": prompt.template.name,
            "path": prompt.path,
            "normalised": normalised_text(prompt.template),
            "source": source,
            "created_at": now_iso(),
        }
        sql.insert_rows(conn, "prompt_version", [values])


def ensure_target(db: Connection | Session, target: Target) -> str:
    conn = sql.connection_of(db)
    key = target.config_key()
    if sql.first(conn, "SELECT 1 FROM target WHERE key = :k", {"k": key}) is None:
        config = target.model_dump(mode="json")  # holds api_key_env (a name), never a key
        values = {
            "key": key,
            "name": target.name,
            "provider": target.provider,
            "model": target.model,
            "base_url": target.base_url,
            "config_json": json.dumps(config, sort_keys=True),
            "created_at": now_iso(),
        }
        sql.insert_rows(conn, "target", [values])
    return key


_RUN_INPUTS = "incident_id = :incident AND target_key = :target AND prompt_version = :version AND item_set = :items"


def find_resumable(
    db: Connection | Session, incident_id: str, target_key: str, version: str, item_set: str
) -> RunRecord | None:
    query = text(f"SELECT * FROM run WHERE {_RUN_INPUTS} AND status IN :statuses ORDER BY id DESC LIMIT 1")
    params = {"incident": incident_id, "target": target_key, "version": version, "items": item_set}
    row = (
        sql.connection_of(db)
        .execute(query.bindparams(bindparam("statuses", expanding=True)), params | {"statuses": list(RESUMABLE)})
        .first()
    )
    return run_record(dict(row._mapping)) if row is not None else None


def reusable_run(
    db: Connection | Session, incident_id: str, target_key: str, version: str, item_set: str, digest: str
) -> int | None:
    """The latest completed run with these inputs (services.replay.items_digest: the same items, and the same
    classifier or the same way of rendering prompts and reading replies)."""
    query = f"SELECT id FROM run WHERE {_RUN_INPUTS} AND status = :status AND items_digest = :digest"
    params = {"incident": incident_id, "target": target_key, "version": version, "items": item_set}
    params |= {"status": RunStatus.COMPLETED.value, "digest": digest}
    return sql.connection_of(db).execute(text(query + " ORDER BY id DESC LIMIT 1"), params).scalar()


def copy_results(db: Connection | Session, source_run: int, run_id: int, *, only_cached: bool = False) -> int:
    """Every result of `source_run` as a result of `run_id`, served from the log (cached, no latency, no cost), in
    one INSERT … SELECT: no row comes into Python. Returns how many.

    `only_cached`: only the results whose reply the response cache holds (a call-making target's: what a render
    and a cache look-up would serve; a failed call is not cached and is left to be called again)."""
    conn = sql.connection_of(db)
    served = {"run_id": ":run", "cached": ":cached", "latency_ms": "NULL", "cost_usd": ":cost", "created_at": ":at"}
    names = sql.columns(conn, "result")
    chosen = ", ".join(served.get(n, f"r.{n}") for n in names)
    where = "r.run_id = :source" + (
        " AND EXISTS (SELECT 1 FROM response_cache c WHERE c.key = r.cache_key)" if only_cached else ""
    )
    params = {"run": run_id, "cached": True, "cost": 0.0, "at": now_iso(), "source": source_run}
    count = text("SELECT count(*) FROM result WHERE run_id = :run")
    before = conn.execute(count, {"run": run_id}).scalar_one()
    conn.execute(text(f"INSERT INTO result ({', '.join(names)}) SELECT {chosen} FROM result r WHERE {where}"), params)
    # counted, not the cursor's rowcount: psycopg reports -1 for an INSERT … SELECT with bound parameters
    return int(conn.execute(count, {"run": run_id}).scalar_one()) - int(before)


def set_items_digest(db: Connection | Session, run_id: int, digest: str) -> None:
    """Record a run's inputs besides the prompt and the target (services.replay.items_digest)."""
    sql.update(sql.connection_of(db), "run", {"id": run_id}, {"items_digest": digest})


def start_run(db: Connection | Session, **fields: Any) -> RunRecord:
    conn = sql.connection_of(db)
    values = {"status": RunStatus.RUNNING.value, "started_at": now_iso(), "items_total": 0, "summary_json": "{}"}
    run_id = sql.insert_returning_id(conn, "run", values | fields)
    return _stored(conn, run_id)


def resume_run(db: Connection | Session, run_id: int, items_total: int) -> RunRecord:
    """A resumable run runs again, now over `items_total` items."""
    conn = sql.connection_of(db)
    sql.update(conn, "run", {"id": run_id}, {"status": RunStatus.RUNNING.value, "items_total": items_total})
    return _stored(conn, run_id)


def _stored(conn: Connection, run_id: int) -> RunRecord:
    run = get_run(conn, run_id)
    if run is None:
        raise LookupError(f"no run {run_id}")  # written in this transaction: never
    return run


def done_item_ids(db: Connection | Session, run_id: int) -> set[str]:
    query = text("SELECT item_id FROM result WHERE run_id = :run")
    return set(sql.connection_of(db).execute(query, {"run": run_id}).scalars())


def insert_results(
    db: Connection | Session,
    rows: Sequence[dict[str, Any]],
    cache_rows: Sequence[dict[str, Any]],
    repeat_rows: Sequence[dict[str, Any]] = (),
) -> None:
    """Insert, ignoring rows already present (a concurrent replay of the same run got there first). Rows that
    name every column of their table (the engine's) go in as they are; others get their columns' defaults from
    the ORM tables (store.bulk)."""
    conn = sql.connection_of(db)
    for table, batch, keys in (
        ("result_repeat", repeat_rows, ["run_id", "item_id", "repeat"]),
        ("result", rows, ["run_id", "item_id"]),
        ("response_cache", cache_rows, ["key"]),
    ):
        if sql.is_complete(conn, table, batch):
            sql.insert_rows(conn, table, batch, keys)
        elif batch:
            from modtui.store import tables

            by_name = {
                "result_repeat": tables.ResultRepeatRow,
                "result": tables.ResultRow,
                "response_cache": tables.CacheRow,
            }
            insert_many(conn, by_name[table].__table__, batch, keys)  # type: ignore[attr-defined]


def cached(db: Connection | Session, keys: Iterable[str]) -> dict[str, CachedReply]:
    conn = sql.connection_of(db)
    keys = list(dict.fromkeys(keys))
    query = text(
        "SELECT key, target_key, text, refusal, finish_reason, tokens_in, tokens_out, raw_json, answered_model, "
        "system_fingerprint, cache_read_tokens, cache_write_tokens FROM response_cache WHERE key IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    out: dict[str, CachedReply] = {}
    for start in range(0, len(keys), CHUNK):
        out.update({row[0]: CachedReply(*row) for row in conn.execute(query, {"keys": keys[start : start + CHUNK]})})
    return out


def finish_run(
    store: Store, run_id: int, status: RunStatus, summary: dict[str, Any], error: str | None, author: str, headline: str
) -> None:
    with store.transaction() as conn:
        run = get_run(conn, run_id)
        if run is None:
            return
        values = {"status": status.value, "finished_at": now_iso(), "error": error}
        sql.update(conn, "run", {"id": run_id}, values | {"summary_json": json.dumps(summary, default=str)})
        add_event(conn, run.incident_id, "run", headline, author, {"run_id": run_id, "status": status.value, **summary})


def get_run(db: Connection | Session, run_id: int) -> RunRecord | None:
    if not sql.can_be_id(run_id):
        return None
    row = sql.first(sql.connection_of(db), "SELECT * FROM run WHERE id = :id", {"id": run_id})
    return run_record(row) if row is not None else None


def runs_for(db: Connection | Session, incident_id: str | None = None, limit: int = 200) -> list[RunRecord]:
    """Runs, newest first (of one incident, or golden set `golden:NAME`, when given)."""
    where = " WHERE incident_id = :incident" if incident_id else ""
    query = text(f"SELECT * FROM run{where} ORDER BY id DESC LIMIT :limit")
    rows = sql.connection_of(db).execute(query, {"incident": incident_id, "limit": limit})
    return [run_record(dict(row._mapping)) for row in rows]


def results_of(db: Connection | Session, run_id: int) -> list[ResultRecord]:
    """A run's results with their texts, in item order (code points)."""
    conn = sql.connection_of(db)
    query = text(f"SELECT * FROM result WHERE run_id = :run ORDER BY {sql.by_code_point(conn, 'item_id')}")
    return [result_record(row) for row in conn.execute(query, {"run": run_id})]


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


def scoring_rows(db: Connection | Session, run_id: int) -> Sequence[Any]:
    """A run's results as plain tuples of SCORING_COLUMNS (services.scoring.scored_rows): no reply texts. Tens of
    times faster than results_of on a 50,000-item run; the primary key (run_id, item_id) is the index it reads in
    item order."""
    conn = sql.connection_of(db)
    query = (
        f"SELECT {', '.join(SCORING_COLUMNS)} FROM result WHERE run_id = :run "
        f"ORDER BY {sql.by_code_point(conn, 'item_id')}"
    )
    return conn.execute(text(query), {"run": run_id}).all()


def call_latencies(db: Connection | Session, run_id: int) -> dict[str, float]:
    """item id → the latency of what made each of the run's results served from the log: the call with its cache
    key, or for a result copied from an earlier run with the same inputs (an unchanged offline re-run, which has
    no key) that run's decision of the item; the newest when there are several, and an item with none left out."""
    by_key = (
        "SELECT c.item_id, o.latency_ms, o.run_id FROM result c JOIN result o ON o.cache_key = c.cache_key "
        "WHERE c.run_id = :run AND c.cached AND c.latency_ms IS NULL AND c.cache_key IS NOT NULL "
        "AND NOT o.cached AND o.latency_ms IS NOT NULL"
    )
    copied = (
        "SELECT c.item_id, o.latency_ms, o.run_id FROM run rc JOIN run ro ON ro.incident_id = rc.incident_id "
        "AND ro.target_key = rc.target_key AND ro.prompt_version = rc.prompt_version AND ro.item_set = rc.item_set "
        "AND ro.items_digest = rc.items_digest AND ro.id <> rc.id "
        "JOIN result c ON c.run_id = rc.id JOIN result o ON o.run_id = ro.id AND o.item_id = c.item_id "
        "WHERE rc.id = :run AND c.cached AND c.latency_ms IS NULL AND c.cache_key IS NULL "
        "AND NOT o.cached AND o.latency_ms IS NOT NULL"
    )
    query = text(f"SELECT item_id, latency_ms FROM ({by_key} UNION ALL {copied}) AS made ORDER BY run_id")
    return {item_id: latency for item_id, latency in sql.connection_of(db).execute(query, {"run": run_id})}


def incident_runs(db: Connection | Session, incident_id: str) -> list[tuple[int, str, str, str]]:
    """(run id, target name, prompt version, prompt path) of every run of the incident, oldest first."""
    query = text(
        "SELECT id, target_name, prompt_version, prompt_path FROM run WHERE incident_id = :incident ORDER BY id"
    )
    rows = sql.connection_of(db).execute(query, {"incident": incident_id}).all()
    return cast(list[tuple[int, str, str, str]], rows)  # the id is the primary key: never NULL


_INCIDENT_RESULTS = "FROM result JOIN run ON result.run_id = run.id WHERE run.incident_id = :incident"


def incident_results(db: Connection | Session, incident_id: str) -> Sequence[Any]:
    """(run_id, then SCORING_COLUMNS) tuples of every result of every run of the incident, ordered by run.
    Plain Core rows: the workbench holds 100,000 of them."""
    names = ", ".join(f"result.{name}" for name in ("run_id", *SCORING_COLUMNS))
    query = text(f"SELECT {names} {_INCIDENT_RESULTS} ORDER BY result.run_id")
    return sql.connection_of(db).execute(query, {"incident": incident_id}).all()


def count_incident_results(db: Connection | Session, incident_id: str, upto: int | None = None) -> int:
    """The incident's results in the log; with `upto`, counted only up to it (a 1M-result count scans them all)."""
    limit = "" if upto is None else " LIMIT :upto"
    query = text(f"SELECT count(*) FROM (SELECT 1 AS one {_INCIDENT_RESULTS}{limit}) AS counted")
    return int(sql.connection_of(db).execute(query, {"incident": incident_id, "upto": upto}).scalar_one())


def item_results(db: Connection | Session, incident_id: str, item_id: str) -> list[tuple[RunRecord, ResultRecord]]:
    """Every result ever logged for one item of the incident with its run, newest first."""
    conn = sql.connection_of(db)
    query = text(
        f"SELECT result.* {_INCIDENT_RESULTS} AND result.item_id = :item "
        "ORDER BY result.created_at DESC, result.run_id DESC"
    )
    results = [result_record(row) for row in conn.execute(query, {"incident": incident_id, "item": item_id})]
    runs = {run_id: get_run(conn, run_id) for run_id in {r.run_id for r in results}}
    return [(run, result) for result in results if (run := runs[result.run_id]) is not None]


def token_history(db: Connection | Session, target_key: str, version: str) -> tuple[int, float, float] | None:
    """(calls, mean input tokens, mean output tokens) of the target's calls with the prompt version (results not
    served from the cache and with token counts), or None when there is none."""
    query = text(
        "SELECT count(*), avg(result.tokens_in), avg(result.tokens_out) FROM result JOIN run ON run.id = result.run_id "
        "WHERE run.target_key = :target AND run.prompt_version = :version AND result.cached = :no "
        "AND result.tokens_in > 0"
    )
    params = {"target": target_key, "version": version, "no": False}
    calls, mean_in, mean_out = sql.connection_of(db).execute(query, params).one()
    return (int(calls), float(mean_in), float(mean_out)) if calls else None


def expected_labels(db: Connection | Session, incident_id: str) -> dict[str, str]:
    query = text("SELECT item_id, expected FROM item WHERE incident_id = :incident")
    return {item_id: expected for item_id, expected in sql.connection_of(db).execute(query, {"incident": incident_id})}


def positive_label(db: Connection | Session, incident_id: str) -> str:
    row = sql.first(sql.connection_of(db), "SELECT positive_label FROM incident WHERE id = :id", {"id": incident_id})
    return row["positive_label"] if row else ""


@dataclass(frozen=True, slots=True)
class RuleCitation:
    """The policy rules one result's verdict cited, in order, and those the prompt's vocabulary did not know."""

    item_id: str
    rules: tuple[str, ...]
    unknown: tuple[str, ...] = ()


def cited_rules(db: Connection | Session, run_id: int) -> dict[str, RuleCitation]:
    """item id → the rules its verdict cited, for the results of a run that cite any."""
    query = text(
        "SELECT item_id, rules_json, unknown_rules_json FROM result WHERE run_id = :run AND rules_json != '[]'"
    )
    return {
        item_id: RuleCitation(item_id, tuple(json.loads(rules)), tuple(json.loads(unknown)))
        for item_id, rules, unknown in sql.connection_of(db).execute(query, {"run": run_id})
    }


def answered_by(db: Connection | Session, run_ids: Sequence[int]) -> dict[int, AnsweredBy]:
    """run id → the distinct answering model ids and system fingerprints of its results (empty when none said)."""
    return core_answered_by(sql.connection_of(db), run_ids)


def claim_runs(store: Store, run_ids: Sequence[int], expected: RunStatus, new: RunStatus) -> list[RunRecord]:
    """Move the runs still in status `expected` to `new` under the write lock; the runs this call moved."""
    with store.transaction() as conn:
        claimed = []
        for run_id in run_ids:
            if sql.update(conn, "run", {"id": run_id, "status": expected.value}, {"status": new.value}):
                claimed.append(_stored(conn, run_id))
        return claimed


def stored_target(db: Connection | Session, key: str) -> dict[str, Any] | None:
    """A target's configuration as recorded when it first ran (names of key variables, never keys)."""
    row = sql.first(sql.connection_of(db), "SELECT config_json FROM target WHERE key = :k", {"k": key})
    return json.loads(row["config_json"]) if row is not None else None


def stored_prompt(db: Connection | Session, version: str) -> tuple[str, str] | None:
    """(YAML source, path) of a prompt version as it was first replayed."""
    row = sql.first(sql.connection_of(db), "SELECT source, path FROM prompt_version WHERE version = :v", {"v": version})
    return (row["source"], row["path"]) if row is not None else None
