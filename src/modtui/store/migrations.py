"""Named migrations, applied once each, in order, recorded in the `migrations` table.

Each migration declares the tables it creates as frozen SQLAlchemy Core definitions, so a later
change to store/tables.py never rewrites history. Append new migrations; never edit old ones.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)

from modtui.errors import StoreError

Migration = Callable[[Connection], None]
MIGRATIONS_TABLE = "migrations"


def m001_core_log(conn: Connection) -> None:
    """Incidents and items as last loaded, prompt versions, targets, runs, results, response cache."""
    md = MetaData()
    Table(
        "incident",
        md,
        Column("id", String, primary_key=True),
        Column("title", Text, nullable=False),
        Column("severity", String, nullable=False),
        Column("status", String, nullable=False),
        Column("policy", String, nullable=False),
        Column("positive_label", String, nullable=False),
        Column("labels_json", Text, nullable=False),
        Column("production_prompt", Text, nullable=False),
        Column("production_model", String, nullable=False),
        Column("opened_at", String),
        Column("description", Text, nullable=False),
        Column("source_hash", String, nullable=False),
        Column("loaded_at", String, nullable=False),
    )
    Table(
        "item",
        md,
        Column("incident_id", String, ForeignKey("incident.id"), primary_key=True),
        Column("item_id", String, primary_key=True),
        Column("content", Text, nullable=False),
        Column("expected", String, nullable=False),
        Column("observed", String),
        Column("kind", String, nullable=False),
        Column("meta_json", Text, nullable=False),
    )
    Table(
        "prompt_version",
        md,
        Column("version", String, primary_key=True),
        Column("name", String, nullable=False),
        Column("path", Text, nullable=False),
        Column("normalised", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("created_at", String, nullable=False),
    )
    Table(
        "target",
        md,
        Column("key", String, primary_key=True),
        Column("name", String, nullable=False),
        Column("provider", String, nullable=False),
        Column("model", String, nullable=False),
        Column("base_url", Text),
        Column("config_json", Text, nullable=False),
        Column("created_at", String, nullable=False),
    )
    Table(
        "run",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("incident_id", String, ForeignKey("incident.id"), nullable=False),
        Column("target_key", String, ForeignKey("target.key"), nullable=False),
        Column("target_name", String, nullable=False),
        Column("prompt_version", String, ForeignKey("prompt_version.version"), nullable=False),
        Column("prompt_path", Text, nullable=False),
        Column("item_set", String, nullable=False),
        Column("status", String, nullable=False),
        Column("author", String, nullable=False),
        Column("started_at", String, nullable=False),
        Column("finished_at", String),
        Column("items_total", Integer, nullable=False),
        Column("baseline_run_id", Integer),
        Column("summary_json", Text, nullable=False),
        Column("error", Text),
    )
    Table(
        "result",
        md,
        Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
        Column("item_id", String, primary_key=True),
        Column("outcome", String, nullable=False),
        Column("label", String),
        Column("confidence", Float),
        Column("rationale", Text),
        Column("error_type", String),
        Column("detail", Text),
        Column("raw_text", Text),
        Column("finish_reason", String),
        Column("tokens_in", Integer, nullable=False),
        Column("tokens_out", Integer, nullable=False),
        Column("latency_ms", Float),
        Column("cost_usd", Float, nullable=False),
        Column("cached", Boolean, nullable=False),
        Column("cache_key", String),
        Column("created_at", String, nullable=False),
    )
    Table(
        "response_cache",
        md,
        Column("key", String, primary_key=True),
        Column("target_key", String, nullable=False),
        Column("text", Text),
        Column("refusal", Text),
        Column("finish_reason", String),
        Column("tokens_in", Integer, nullable=False),
        Column("tokens_out", Integer, nullable=False),
        Column("raw_json", Text),
        Column("created_at", String, nullable=False),
    )
    md.create_all(conn)


def m002_findings_and_timeline(conn: Connection) -> None:
    """Root-cause findings (with evidence and label corrections) and the incident timeline."""
    md = MetaData()
    md.reflect(conn, only=["incident"])
    Table(
        "finding",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("incident_id", String, ForeignKey("incident.id"), nullable=False),
        Column("category", String, nullable=False),
        Column("summary", Text, nullable=False),
        Column("fix", Text),
        Column("status", String, nullable=False),
        Column("author", String, nullable=False),
        Column("created_at", String, nullable=False),
        Column("resolved_at", String),
        Column("resolution", Text),
        Column("superseded_by", Integer),
        Column("items_json", Text, nullable=False),
        Column("runs_json", Text, nullable=False),
        Column("corrected_labels_json", Text, nullable=False),
    )
    Table(
        "event",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("incident_id", String, ForeignKey("incident.id"), nullable=False),
        Column("at", String, nullable=False),
        Column("author", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("summary", Text, nullable=False),
        Column("data_json", Text, nullable=False),
    )
    md.create_all(conn, tables=[md.tables["finding"], md.tables["event"]])


def m003_query_indexes(conn: Connection) -> None:
    """Indexes for the queries the TUI and compare run: an item's history, an incident's runs and events."""
    md = MetaData()
    md.reflect(conn, only=["result", "run", "event", "item", "finding"])
    tables = md.tables
    Index("ix_result_item", tables["result"].c.item_id).create(conn)
    Index("ix_run_incident", tables["run"].c.incident_id, tables["run"].c.started_at).create(conn)
    Index(
        "ix_run_resume",
        tables["run"].c.incident_id,
        tables["run"].c.target_key,
        tables["run"].c.prompt_version,
        tables["run"].c.item_set,
    ).create(conn)
    Index("ix_event_incident", tables["event"].c.incident_id, tables["event"].c.at).create(conn)
    Index("ix_item_kind", tables["item"].c.incident_id, tables["item"].c.kind).create(conn)
    Index("ix_finding_incident", tables["finding"].c.incident_id, tables["finding"].c.status).create(conn)


def m004_batches(conn: Connection) -> None:
    """Provider batches of `replay --batch`: one row per provider batch, one per request (custom id → run, item)."""
    md = MetaData()
    md.reflect(conn, only=["incident", "target", "run"])
    batch = Table(
        "batch",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("submission", String, nullable=False),
        Column("incident_id", String, ForeignKey("incident.id"), nullable=False),
        Column("target_key", String, ForeignKey("target.key"), nullable=False),
        Column("target_name", String, nullable=False),
        Column("provider", String, nullable=False),
        Column("provider_batch_id", String, nullable=False),
        Column("status", String, nullable=False),
        Column("provider_status", String),
        Column("requests", Integer, nullable=False),
        Column("run_ids_json", Text, nullable=False),
        Column("spec_json", Text, nullable=False),
        Column("author", String, nullable=False),
        Column("submitted_at", String, nullable=False),
        Column("ended_at", String),
        Column("error", Text),
    )
    request = Table(
        "batch_request",
        md,
        Column("batch_id", Integer, ForeignKey("batch.id"), primary_key=True),
        Column("custom_id", String, primary_key=True),
        Column("run_id", Integer, ForeignKey("run.id"), nullable=False),
        Column("item_id", String, nullable=False),
        Column("cache_key", String, nullable=False),
        Column("truncated", Boolean, nullable=False),
    )
    md.create_all(conn, tables=[batch, request])
    Index("ix_batch_status", batch.c.status, batch.c.submission).create(conn)
    Index("ix_batch_request_run", request.c.run_id).create(conn)


def m005_incident_files_hash(conn: Connection) -> None:
    """The fingerprint of the incident's files as last loaded with every check passed (incidents.loader.read_files):
    an unchanged folder is then read without validating each item again (NULL: validate)."""
    conn.execute(text("ALTER TABLE incident ADD COLUMN files_hash VARCHAR"))


def m008_probes_and_repeats(conn: Connection) -> None:
    """Evasion probes and repeat runs: an item may be a probe variant of a parent item (parent_id, mutation, seed);
    a run calls each item `repeats` times, repeats 2..N kept in result_repeat with their index."""
    conn.execute(text("ALTER TABLE item ADD COLUMN parent_id VARCHAR"))
    conn.execute(text("ALTER TABLE item ADD COLUMN mutation VARCHAR"))
    conn.execute(text("ALTER TABLE item ADD COLUMN seed BIGINT"))
    conn.execute(text("ALTER TABLE run ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1"))
    md = MetaData()
    md.reflect(conn, only=["run"])
    Table(
        "result_repeat",
        md,
        Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
        Column("item_id", String, primary_key=True),
        Column("repeat", Integer, primary_key=True),
        Column("outcome", String, nullable=False),
        Column("label", String),
        Column("confidence", Float),
        Column("rationale", Text),
        Column("error_type", String),
        Column("detail", Text),
        Column("raw_text", Text),
        Column("finish_reason", String),
        Column("tokens_in", Integer, nullable=False),
        Column("tokens_out", Integer, nullable=False),
        Column("latency_ms", Float),
        Column("cost_usd", Float, nullable=False),
        Column("cached", Boolean, nullable=False),
        Column("cache_key", String),
        Column("created_at", String, nullable=False),
    )
    md.create_all(conn, tables=[md.tables["result_repeat"]])


def m007_item_annotations(conn: Connection) -> None:
    """Each item's human labels (annotator → label, JSON) as last loaded; NULL when the item records none."""
    conn.execute(text("ALTER TABLE item ADD COLUMN annotations_json TEXT"))


def m006_result_provenance(conn: Connection) -> None:
    """What answered and what it cited: per result the model id the provider says answered, OpenAI's
    system_fingerprint, prompt-cache tokens (read / written, counted in tokens_in and cost) and the policy rules the
    verdict cited (JSON lists: every name cited, and those the prompt's vocabulary does not know). The response
    cache keeps the first three, so a reply served from it records them too; repeats (m008) keep all of it."""
    for table in ("result", "result_repeat", "response_cache"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN answered_model VARCHAR"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN system_fingerprint VARCHAR"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0"))
    for table in ("result", "result_repeat"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN rules_json TEXT NOT NULL DEFAULT '[]'"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN unknown_rules_json TEXT NOT NULL DEFAULT '[]'"))


def m009_run_items_digest(conn: Connection) -> None:
    """run.items_digest: for a deterministic target (the offline rules baseline), what its results depend on
    besides the prompt version — the classifier's version and the items' ids and contents — so that an unchanged
    re-run is served from the log instead of classified again (services.replay)."""
    conn.execute(text("ALTER TABLE run ADD COLUMN items_digest VARCHAR"))


def m023_result_call_key(conn: Connection) -> None:
    """The calls' results by cache key: a result served from the response cache finds the call that made its reply
    (its latency: store.runs.call_latencies). Partial: only results of calls; a rules verdict has no key."""
    conn.execute(
        text("CREATE INDEX ix_result_call_key ON result (cache_key) WHERE NOT cached AND cache_key IS NOT NULL")
    )


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_core_log", m001_core_log),
    ("m002_findings_and_timeline", m002_findings_and_timeline),
    ("m003_query_indexes", m003_query_indexes),
    ("m004_batches", m004_batches),
    ("m005_incident_files_hash", m005_incident_files_hash),
    ("m008_probes_and_repeats", m008_probes_and_repeats),
    ("m007_item_annotations", m007_item_annotations),
    ("m006_result_provenance", m006_result_provenance),
    ("m009_run_items_digest", m009_run_items_digest),
    ("m023_result_call_key", m023_result_call_key),
]


def applied(conn: Connection) -> list[str]:
    if not inspect(conn).has_table(MIGRATIONS_TABLE):
        return []
    return [row[0] for row in conn.execute(text(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY applied_order"))]


def check_not_newer(names: list[str], where: str) -> None:
    known = {name for name, _ in MIGRATIONS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StoreError(
            f"{where}: the log was written by a newer modtui (unknown migration '{unknown[0]}'); "
            f"upgrade modtui to open it. Nothing was changed."
        )


def migrate(engine: Engine, where: str, upto: int | None = None) -> list[str]:
    """Apply every missing migration (or the first `upto`) in its own transaction; return their names."""
    with engine.connect() as conn:
        done = applied(conn)
    check_not_newer(done, where)
    todo = [(n, fn) for n, fn in MIGRATIONS[:upto] if n not in done]
    for order, (name, fn) in enumerate(todo, start=len(done) + 1):
        with engine.connect().execution_options(modtui_write=True) as conn, conn.begin():
            _ensure_table(conn)
            if name in applied(conn):  # another process migrated first
                continue
            fn(conn)
            conn.execute(
                text(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_order, applied_at) "
                    f"VALUES (:n, :o, CURRENT_TIMESTAMP)"
                ),
                {"n": name, "o": order},
            )
    return [n for n, _ in todo]


def _ensure_table(conn: Connection) -> None:
    md = MetaData()
    Table(
        MIGRATIONS_TABLE,
        md,
        Column("name", String, primary_key=True),
        Column("applied_order", Integer, nullable=False),
        Column("applied_at", String, nullable=False),
    )
    md.create_all(conn, checkfirst=True)
