"""Queries on prompt versions, targets, runs, results and the response cache."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, null
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from modtui.domain.target import Target
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.version import normalised_text
from modtui.store.db import Store, code_point_order
from modtui.store.incidents import add_event
from modtui.store.tables import CacheRow, PromptVersionRow, ResultRepeatRow, ResultRow, RunRow, TargetRow
from modtui.timeutil import now_iso

RESUMABLE = ("running", "interrupted", "failed", "stopped_budget")
CHUNK = 500


def ensure_prompt_version(session: Session, prompt: LoadedPrompt, source: str) -> None:
    if session.get(PromptVersionRow, prompt.version) is None:
        session.add(PromptVersionRow(version=prompt.version, name=prompt.template.name, path=prompt.path,
                                     normalised=normalised_text(prompt.template), source=source, created_at=now_iso()))


def ensure_target(session: Session, target: Target) -> str:
    key = target.config_key()
    if session.get(TargetRow, key) is None:
        config = target.model_dump(mode="json")  # holds api_key_env (a name), never a key
        session.add(TargetRow(key=key, name=target.name, provider=target.provider, model=target.model,
                              base_url=target.base_url, config_json=json.dumps(config, sort_keys=True),
                              created_at=now_iso()))
    return key


def find_resumable(session: Session, incident_id: str, target_key: str, version: str, item_set: str) -> RunRow | None:
    query = (select(RunRow).where(RunRow.incident_id == incident_id, RunRow.target_key == target_key,
                                  RunRow.prompt_version == version, RunRow.item_set == item_set,
                                  RunRow.status.in_(RESUMABLE))  # type: ignore[attr-defined]
             .order_by(RunRow.id.desc()))  # type: ignore[union-attr]
    return session.exec(query).first()


def reusable_run(session: Session, incident_id: str, target_key: str, version: str, item_set: str,
                 digest: str) -> int | None:
    """The latest completed run of a deterministic target with these inputs (same items, same classifier)."""
    query = (sa_select(RunRow.id).where(RunRow.incident_id == incident_id, RunRow.target_key == target_key,
                                        RunRow.prompt_version == version, RunRow.item_set == item_set,
                                        RunRow.status == "completed", RunRow.items_digest == digest)
             .order_by(RunRow.id.desc()).limit(1))  # type: ignore[union-attr]
    return session.connection().execute(query).scalar()


def copy_results(session: Session, source_run: int, run_id: int) -> int:
    """Every result of `source_run` as a result of `run_id`, served from the log (cached, no latency, no cost), in
    one INSERT … SELECT: no row comes into Python. Returns how many."""
    table = ResultRow.__table__  # type: ignore[attr-defined]
    served = {"run_id": literal(run_id), "cached": literal(True), "latency_ms": null(), "cost_usd": literal(0.0),
              "created_at": literal(now_iso())}
    names = [c.name for c in table.columns]
    chosen = sa_select(*[served[n].label(n) if n in served else table.c[n] for n in names]).where(
        table.c.run_id == source_run)
    return session.execute(sa_insert(table).from_select(names, chosen)).rowcount or 0


def start_run(session: Session, **fields: Any) -> RunRow:
    run = RunRow(status="running", started_at=now_iso(), **fields)
    session.add(run)
    session.flush()
    return run


def done_item_ids(session: Session, run_id: int) -> set[str]:
    return set(session.exec(select(ResultRow.item_id).where(ResultRow.run_id == run_id)))


def insert_results(session: Session, rows: Sequence[dict[str, Any]], cache_rows: Sequence[dict[str, Any]],
                   repeat_rows: Sequence[dict[str, Any]] = ()) -> None:
    """Insert, ignoring rows already present (a concurrent replay of the same run got there first)."""
    if repeat_rows:
        session.execute(_insert_ignore(session, ResultRepeatRow.__table__, ["run_id", "item_id", "repeat"]),  # type: ignore[attr-defined]
                        list(repeat_rows))
    if rows:
        session.execute(_insert_ignore(session, ResultRow.__table__, ["run_id", "item_id"]), list(rows))  # type: ignore[attr-defined]
    if cache_rows:
        session.execute(_insert_ignore(session, CacheRow.__table__, ["key"]), list(cache_rows))  # type: ignore[attr-defined]


def _insert_ignore(session: Session, table: Any, keys: list[str]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def cached(session: Session, keys: Iterable[str]) -> dict[str, CacheRow]:
    keys = list(dict.fromkeys(keys))
    out: dict[str, CacheRow] = {}
    for start in range(0, len(keys), CHUNK):
        query = select(CacheRow).where(CacheRow.key.in_(keys[start:start + CHUNK]))  # type: ignore[attr-defined]
        out.update({row.key: row for row in session.exec(query)})
    return out


def finish_run(store: Store, run_id: int, status: str, summary: dict[str, Any], error: str | None,
               author: str, headline: str) -> None:
    with store.write() as session:
        run = session.get(RunRow, run_id)
        if run is None:
            return
        run.status, run.finished_at, run.error = status, now_iso(), error
        run.summary_json = json.dumps(summary, default=str)
        session.add(run)
        add_event(session, run.incident_id, "run", headline, author, {"run_id": run_id, "status": status, **summary})


def get_run(session: Session, run_id: int) -> RunRow | None:
    return session.get(RunRow, run_id)


def runs_for(session: Session, incident_id: str | None = None, limit: int = 200) -> list[RunRow]:
    query = select(RunRow).order_by(RunRow.id.desc()).limit(limit)  # type: ignore[union-attr]
    if incident_id:
        query = query.where(RunRow.incident_id == incident_id)
    return list(session.exec(query))


def results_of(session: Session, run_id: int) -> list[ResultRow]:
    query = select(ResultRow).where(ResultRow.run_id == run_id).order_by(code_point_order(session, ResultRow.item_id))
    return list(session.exec(query))


SCORING_COLUMNS = ("item_id", "outcome", "label", "error_type", "confidence", "latency_ms", "cost_usd", "tokens_in",
                   "tokens_out", "cached")


def scoring_rows(session: Session, run_id: int) -> Sequence[Any]:
    """A run's results as plain tuples of SCORING_COLUMNS (services.scoring.scored_rows): no ORM objects, no reply
    texts. Tens of times faster than results_of on a 50,000-item run; the primary key (run_id, item_id) is the
    index it reads in item order."""
    columns = [getattr(ResultRow, name) for name in SCORING_COLUMNS]
    query = sa_select(*columns).where(ResultRow.run_id == run_id).order_by(code_point_order(session, ResultRow.item_id))
    return session.connection().execute(query).all()  # Core rows (tuples): the ORM's per-row work is not needed


def result_counts(session: Session, run_ids: Sequence[int]) -> dict[int, int]:
    query = select(ResultRow.run_id, func.count()).where(ResultRow.run_id.in_(run_ids)).group_by(ResultRow.run_id)  # type: ignore[attr-defined]
    return dict(session.exec(query).all())  # type: ignore[arg-type]


def token_history(session: Session, target_key: str, version: str) -> tuple[int, float, float] | None:
    """(calls, mean input tokens, mean output tokens) of the target's calls with the prompt version (results not
    served from the cache and with token counts), or None when there is none."""
    query = (sa_select(func.count(), func.avg(ResultRow.tokens_in), func.avg(ResultRow.tokens_out))
             .join(RunRow, RunRow.id == ResultRow.run_id)  # type: ignore[arg-type]
             .where(RunRow.target_key == target_key, RunRow.prompt_version == version,
                    ResultRow.cached == False, ResultRow.tokens_in > 0))  # noqa: E712 (SQL, not Python)
    calls, mean_in, mean_out = session.connection().execute(query).one()
    return (int(calls), float(mean_in), float(mean_out)) if calls else None


def expected_labels(session: Session, incident_id: str) -> dict[str, str]:
    from modtui.store.tables import ItemRow
    query = sa_select(ItemRow.item_id, ItemRow.expected).where(ItemRow.incident_id == incident_id)
    return dict(session.connection().execute(query).all())  # type: ignore[arg-type]  (Core rows: 3× faster at 50k)


def positive_label(session: Session, incident_id: str) -> str:
    from modtui.store.tables import IncidentRow
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
    query = (sa_select(ResultRow.item_id, ResultRow.rules_json, ResultRow.unknown_rules_json)  # type: ignore[call-overload]
             .where(ResultRow.run_id == run_id, ResultRow.rules_json != "[]"))
    return {item_id: RuleCitation(item_id, tuple(json.loads(rules)), tuple(json.loads(unknown)))
            for item_id, rules, unknown in session.connection().execute(query)}


@dataclass(frozen=True, slots=True)
class AnsweredBy:
    """Which models the provider says answered a run's calls, and OpenAI's backend fingerprints, sorted."""

    models: tuple[str, ...] = ()
    system_fingerprints: tuple[str, ...] = ()


def answered_by(session: Session, run_ids: Sequence[int]) -> dict[int, AnsweredBy]:
    """run id → the distinct answering model ids and system fingerprints of its results (empty when none said)."""
    out: dict[int, tuple[set[str], set[str]]] = {run_id: (set(), set()) for run_id in run_ids}
    query = (sa_select(ResultRow.run_id, ResultRow.answered_model, ResultRow.system_fingerprint)  # type: ignore[call-overload]
             .distinct().where(ResultRow.run_id.in_(list(run_ids))))  # type: ignore[attr-defined]
    for run_id, model, fingerprint in session.connection().execute(query):
        models, fingerprints = out[run_id]
        if model:
            models.add(model)
        if fingerprint:
            fingerprints.add(fingerprint)
    return {run_id: AnsweredBy(tuple(sorted(m)), tuple(sorted(f))) for run_id, (m, f) in out.items()}
