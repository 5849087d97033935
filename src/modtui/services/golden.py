"""Golden sets: labelled items copied out of incidents into `goldens/NAME.jsonl`, replayed in CI.

The file is JSON Lines. Its first line is a header naming what the set is judged by — the policy,
labels, positive label and production prompt/model of the incident it was started from:

    {"golden": "NAME", "policy": "hate_speech", "labels": [...], "positive_label": "violating",
     "production": {"prompt": "prompts/hate_speech/production.yaml", "model": "gpt-4o-mini"}}

then one item a line: an items.jsonl item plus where it came from (`incident`, `item`) and when it
was added. Its `id` is `INCIDENT/ITEM`, unique across the set. Every item of a set shares the
header's policy and labels (adding from an incident of another policy is refused), so metrics mean
one thing.

A golden set replays as a pseudo-incident `golden:NAME` (":" never occurs in an incident id): the
log holds an incident row synced from the file like any incident's, so runs, results, gates,
flips and `--baseline RUN` work unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modtui.analysis.flips import compare
from modtui.domain.incident import ID_PATTERN, Incident, Item
from modtui.domain.run import RunStatus
from modtui.errors import InputError, Problem, UsageError
from modtui.files.jsonline import JsonLineError, parse_json_line
from modtui.files.paths import name_problem
from modtui.files.text import read_text
from modtui.files.validate import suggest
from modtui.incidents.loader import LoadedIncident, check_item, jsonl_lines
from modtui.services.incidents import load_and_sync
from modtui.services.scoring import observed_as_run, scored_run
from modtui.store import incidents as store_incidents
from modtui.store import runs as q
from modtui.store.records import RunRecord
from modtui.timeutil import now_iso
from modtui.workspace import Workspace

PREFIX = "golden:"
FOLDER = "goldens"
HEADER_FIELDS = ("policy", "labels", "positive_label", "production")
ITEM_CHOICES = ("fixed", "all")


@dataclass
class GoldenItem:
    incident: str
    item: Item  # as in the source incident, with id `INCIDENT/ITEM`
    source_id: str
    added_at: str

    def to_json(self) -> dict[str, Any]:
        i = self.item
        return {
            "id": i.id,
            "incident": self.incident,
            "item": self.source_id,
            "content": i.content,
            "expected": i.expected,
            "observed": i.observed,
            "kind": i.kind.value if i.kind else "eval",
            "meta": i.meta,
            "added_at": self.added_at,
        }


@dataclass
class GoldenSet:
    name: str
    path: Path
    header: dict[str, Any]
    items: list[GoldenItem]

    @property
    def incident_id(self) -> str:
        return PREFIX + self.name

    def incident(self) -> Incident:
        fields = {k: self.header[k] for k in HEADER_FIELDS}
        base = Incident.model_validate(
            {"id": "golden", "title": f"golden set {self.name}", "severity": "SEV4", "status": "open", **fields}
        )
        return base.model_copy(update={"id": self.incident_id})

    def loaded(self) -> LoadedIncident:
        return LoadedIncident(self.incident(), [g.item for g in self.items], self.path.parent)


@dataclass
class AddResult:
    golden: GoldenSet
    added: list[str]
    already: list[str]
    run_id: int | None = None


def is_golden(incident_id: str) -> bool:
    return incident_id.startswith(PREFIX)


def source_incident(loaded: LoadedIncident, item: Item) -> str:
    """The incident an item belongs to: its own, or for a golden set's item the one it was copied from."""
    if is_golden(loaded.id) and "/" in item.id:
        return item.id.split("/", 1)[0]
    return loaded.id


# -- reading ----------------------------------------------------------------------------------------


def golden_path(ws: Workspace, name: str) -> Path:
    if not ID_PATTERN.match(name):
        raise UsageError(Problem("--set", f"'{name}' is not a valid golden set name (letters, digits, '.', '_', '-')"))
    reason = name_problem(name)
    if reason:
        raise UsageError(Problem("--set", reason))
    return ws.inside(ws.root / FOLDER / f"{name}.jsonl", f"{FOLDER}/{name}.jsonl")


def names(ws: Workspace) -> list[str]:
    folder = ws.root / FOLDER
    return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def load(ws: Workspace, name: str) -> GoldenSet:
    path = golden_path(ws, name)
    if not path.is_file():
        raise UsageError(Problem(f"{FOLDER}/", f"no golden set '{name}'{suggest(name, names(ws))}"))
    return parse(path, ws.relative(path), name)


def parse(path: Path, shown: str, name: str) -> GoldenSet:
    lines = [(n, raw) for n, raw in jsonl_lines(read_text(path, shown)) if raw.strip()]
    if not lines:
        raise InputError(Problem(shown, "file is empty: expected a header line, then one item a line", 1))
    header = _header(lines[0], shown)
    golden = GoldenSet(name, path, header, [])
    incident = golden.incident()
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, raw in lines[1:]:
        item, item_problems = _item(raw, number, shown, incident)
        if item is not None and item.item.id in seen:
            item_problems.append(
                Problem(shown, f"duplicate item '{item.item.id}' (first on line {seen[item.item.id]})", number)
            )
        problems.extend(item_problems)
        if item is not None and not item_problems:
            seen[item.item.id] = number
            golden.items.append(item)
    if problems:
        raise InputError(problems[:100])
    return golden


def _header(line: tuple[int, str], shown: str) -> dict[str, Any]:
    number, raw = line
    try:
        data = parse_json_line(raw)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(shown, f"invalid JSON: {exc.msg}", number, exc.colno)) from None
    except JsonLineError as exc:
        raise InputError(Problem(shown, exc.message, number, exc.col)) from None
    missing = [k for k in ("golden", *HEADER_FIELDS) if not isinstance(data, dict) or k not in data]
    if missing:
        raise InputError(
            Problem(shown, f"the first line must be the set's header; missing {', '.join(missing)}", number)
        )
    try:
        Incident.model_validate(
            {"id": "golden", "title": "golden", "severity": "SEV4", **{k: data[k] for k in HEADER_FIELDS}}
        )
    except ValueError as exc:
        raise InputError(Problem(shown, f"header: {_first_error(exc)}", number)) from None
    return data


def _item(raw: str, number: int, shown: str, incident: Incident) -> tuple[GoldenItem | None, list[Problem]]:
    try:
        data = parse_json_line(raw)
    except json.JSONDecodeError as exc:
        return None, [Problem(shown, f"invalid JSON: {exc.msg}", number, exc.colno)]
    except JsonLineError as exc:
        return None, [Problem(shown, exc.message, number, exc.col)]
    if not isinstance(data, dict):
        return None, [Problem(shown, "expected a JSON object", number)]
    extra = {k: data.pop(k, None) for k in ("incident", "item", "added_at")}
    if not isinstance(extra["incident"], str) or not isinstance(extra["item"], str):
        return None, [Problem(shown, "an item needs 'incident' and 'item' (where it was copied from)", number)]
    try:
        item = Item.model_validate(data)
    except ValueError as exc:
        return None, [Problem(shown, _first_error(exc), number)]
    problems = check_item(item, incident, shown, number)
    return GoldenItem(extra["incident"], item, extra["item"], str(extra["added_at"] or "")), problems


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)


def load_and_sync_golden(ws: Workspace, incident_id: str) -> LoadedIncident:
    """The golden set `golden:NAME` as an incident, with the log's copy brought up to date."""
    loaded = load(ws, incident_id.removeprefix(PREFIX)).loaded()
    if not loaded.items:
        raise UsageError(Problem(incident_id, "the golden set has no items yet"))
    store_incidents.sync_incident(ws.store(), loaded)
    return loaded


def summaries(ws: Workspace) -> list[dict[str, Any]]:
    out = []
    for name in names(ws):
        golden = load(ws, name)
        incidents = sorted({g.incident for g in golden.items})
        kinds: dict[str, int] = {}
        for g in golden.items:
            kind = g.item.kind.value if g.item.kind else "eval"
            kinds[kind] = kinds.get(kind, 0) + 1
        out.append(
            {
                "name": name,
                "items": len(golden.items),
                "policy": golden.header["policy"],
                "incidents": incidents,
                "kinds": dict(sorted(kinds.items())),
                "path": ws.relative(golden.path),
            }
        )
    return out


# -- adding -----------------------------------------------------------------------------------------


def add(
    ws: Workspace, incident_id: str, name: str, which: Sequence[str] = ("all",), run_id: int | None = None
) -> AddResult:
    """Copy items of an incident into the golden set (created on first use), skipping ones already in it."""
    path = golden_path(ws, name)
    loaded = load_and_sync(ws, incident_id)
    golden = parse(path, ws.relative(path), name) if path.is_file() else _new(name, path, loaded)
    _check_compatible(golden, loaded)
    chosen, used_run = _select(ws, loaded, which, run_id)
    present = {(g.incident, g.source_id) for g in golden.items}
    added, already = [], []
    stamp = now_iso()
    for item in chosen:
        if (loaded.id, item.id) in present:
            already.append(item.id)
            continue
        copy = item.model_copy(update={"id": f"{loaded.id}/{item.id}"})
        golden.items.append(GoldenItem(loaded.id, copy, item.id, stamp))
        added.append(item.id)
    if added:
        _write(golden)
    return AddResult(golden, added, already, used_run)


def _new(name: str, path: Path, loaded: LoadedIncident) -> GoldenSet:
    inc = loaded.incident
    header = {
        "golden": name,
        "policy": inc.policy,
        "labels": inc.labels,
        "positive_label": inc.positive_label,
        "production": inc.production.model_dump(),
        "created_at": now_iso(),
        "created_from": inc.id,
    }
    return GoldenSet(name, path, header, [])


def _check_compatible(golden: GoldenSet, loaded: LoadedIncident) -> None:
    inc, head = loaded.incident, golden.header
    if (
        inc.policy != head["policy"]
        or set(inc.labels) != set(head["labels"])
        or inc.positive_label != head["positive_label"]
    ):
        raise UsageError(
            Problem(
                loaded.id,
                f"golden set '{golden.name}' is for policy {head['policy']} with labels "
                f"{head['labels']} (positive {head['positive_label']}); {loaded.id} is "
                f"{inc.policy} with {inc.labels} (positive {inc.positive_label})",
            )
        )


def _select(
    ws: Workspace, loaded: LoadedIncident, which: Sequence[str], run_id: int | None
) -> tuple[list[Item], int | None]:
    which = list(which) or ["all"]
    if which == ["all"]:
        return list(loaded.items), None
    if which == ["fixed"]:
        return _fixed_items(ws, loaded, run_id)
    if "all" in which or "fixed" in which:
        raise UsageError(Problem("--items", "use 'fixed', 'all', or item ids — not a mix"))
    by_id = {i.id: i for i in loaded.items}
    unknown = [i for i in which if i not in by_id]
    if unknown:
        raise UsageError(
            [Problem("--items", f"no item '{u}' in {loaded.id}{suggest(u, list(by_id))}") for u in unknown]
        )
    return [by_id[i] for i in dict.fromkeys(which)], None


def _fixed_items(ws: Workspace, loaded: LoadedIncident, run_id: int | None) -> tuple[list[Item], int]:
    """Items the candidate run (given, else the latest one with a baseline) fixed against its baseline."""
    positive = loaded.incident.positive_label
    expected = {i.id: i.expected for i in loaded.items}
    with ws.store().read() as session:
        run = _candidate_run(session, loaded.id, run_id)
        base_id = run.summary.get("baseline_run_id")
        baseline = scored_run(session, base_id, expected) if base_id is not None else observed_as_run(loaded.items)
        candidate = scored_run(session, run.id, expected)
    fixed = set(compare(baseline, candidate, positive).fixed)
    return [i for i in loaded.items if i.id in fixed], run.id


def _candidate_run(session: Any, incident_id: str, run_id: int | None) -> RunRecord:
    if run_id is not None:
        run = q.get_run(session, run_id)
        if run is None:
            raise UsageError(Problem("--run", f"no run {run_id}"))
        if run.incident_id != incident_id:
            raise UsageError(Problem("--run", f"run {run_id} is on {run.incident_id}, not {incident_id}"))
        if not _has_baseline(run):
            raise UsageError(Problem("--run", f"run {run_id} has no baseline to be fixed against (it is one)"))
        return run
    for run in q.runs_for(session, incident_id, limit=10_000):  # newest first
        if _has_baseline(run) and run.status in (RunStatus.COMPLETED, RunStatus.INTERRUPTED):
            return run
    raise UsageError(
        Problem(
            incident_id,
            "no candidate run with a baseline on this incident, so no 'fixed' items: "
            f"replay a candidate first (modtui replay {incident_id} -p PROMPT), "
            "or pass --run RUN or item ids",
        )
    )


def _has_baseline(run: RunRecord) -> bool:
    return run.summary.get("fixed") is not None


def _write(golden: GoldenSet) -> None:
    """Rewrite the set through a temporary file, so an interrupted write never leaves half a set."""
    golden.path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(golden.header, ensure_ascii=False)]
    lines += [json.dumps(g.to_json(), ensure_ascii=False) for g in golden.items]
    staging = golden.path.with_suffix(".jsonl.tmp")
    staging.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(staging, golden.path)
