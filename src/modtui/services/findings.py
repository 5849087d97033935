"""Findings: record a root cause with its evidence, resolve, reject or supersede it; label disputes.

Every change is a timeline event in the same transaction. Findings are never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.domain.finding import LABEL_ERROR, Finding, FindingStatus
from modtui.errors import Problem, UsageError
from modtui.files.validate import suggest
from modtui.incidents.loader import LoadedIncident
from modtui.services.incidents import load_and_sync
from modtui.store import findings as q
from modtui.store import runs as runs_q
from modtui.store.incidents import add_event
from modtui.workspace import Workspace

SHOWN_CORRECTIONS = 5


@dataclass
class NewFinding:
    incident_id: str
    category: str
    summary: str
    author: str
    items: Sequence[str] = ()
    runs: Sequence[int] = ()
    fix: str | None = None
    corrections: Mapping[str, str] = field(default_factory=dict)


def parse_corrections(values: Sequence[str]) -> dict[str, str]:
    """`ITEM=LABEL` strings as {item: label}; raises UsageError naming each malformed one."""
    out: dict[str, str] = {}
    problems = []
    for value in values:
        item, sep, label = (part.strip() for part in value.partition("="))
        if not sep or not item or not label:
            problems.append(Problem("--correct", f"'{value}' is not ITEM=LABEL"))
        elif out.get(item, label) != label:
            problems.append(Problem("--correct", f"{item} is corrected twice, to '{out[item]}' and to '{label}'"))
        else:
            out[item] = label
    if problems:
        raise UsageError(problems)
    return out


def categories(ws: Workspace) -> list[str]:
    return list(ws.config.settings.categories)


def add(ws: Workspace, new: NewFinding) -> Finding:
    """Validate everything, then write the finding and its events at once; raises UsageError naming each problem."""
    loaded = load_and_sync(ws, new.incident_id)
    problems = _check_text(new) + _check_category(ws, new.category) + _check_items(loaded, new.items)
    problems += _check_runs(ws, loaded.id, new.runs) + _check_corrections(loaded, new.category, new.corrections)
    if problems:
        raise UsageError(problems)
    evidence = list(dict.fromkeys([*new.items, *new.corrections]))
    with ws.store().write() as session:
        found = q.insert(
            session,
            incident_id=loaded.id,
            category=new.category,
            summary=new.summary.strip(),
            fix=(new.fix or "").strip() or None,
            author=new.author,
            items=evidence,
            runs=list(dict.fromkeys(new.runs)),
            corrections=new.corrections,
        )
        add_event(
            session,
            loaded.id,
            "finding",
            f"finding #{found.id} added [{new.category}]: {found.summary}",
            new.author,
            {"finding_id": found.id, "category": new.category, "items": evidence, "runs": list(new.runs)},
        )
        if new.corrections:
            add_event(
                session,
                loaded.id,
                "dispute",
                _dispute_text(found.id, loaded, new.corrections),
                new.author,
                {"finding_id": found.id, "corrections": dict(new.corrections)},
            )
        return found


def _check_text(new: NewFinding) -> list[Problem]:
    return [] if new.summary.strip() else [Problem("--summary", "a finding needs a summary of what was found")]


def _check_category(ws: Workspace, category: str) -> list[Problem]:
    known = categories(ws)
    if category in known:
        return []
    return [
        Problem(
            "--category", f"unknown category '{category}'{suggest(category, known)}; expected one of {', '.join(known)}"
        )
    ]


def _check_items(loaded: LoadedIncident, items: Sequence[str]) -> list[Problem]:
    known = [i.id for i in loaded.items]
    ids = set(known)
    return [
        Problem("--item", f"no item '{item}' in {loaded.id}{suggest(item, known)}")
        for item in dict.fromkeys(items)
        if item not in ids
    ]


def _check_runs(ws: Workspace, incident_id: str, runs: Sequence[int]) -> list[Problem]:
    problems = []
    with ws.store().read() as session:
        for run_id in dict.fromkeys(runs):
            run = runs_q.get_run(session, run_id)
            if run is None:
                problems.append(Problem("--run", f"no run {run_id}"))
            elif run.incident_id != incident_id:
                problems.append(Problem("--run", f"run {run_id} is on {run.incident_id}, not {incident_id}"))
    return problems


def _check_corrections(loaded: LoadedIncident, category: str, corrections: Mapping[str, str]) -> list[Problem]:
    if not corrections:
        return []
    if category != LABEL_ERROR:
        return [
            Problem("--correct", f"label corrections belong to a finding of category '{LABEL_ERROR}', not '{category}'")
        ]
    labels = loaded.incident.labels
    expected = {i.id: i.expected for i in loaded.items}
    problems = []
    for item, label in corrections.items():
        if item not in expected:
            problems.append(Problem("--correct", f"no item '{item}' in {loaded.id}{suggest(item, expected)}"))
        elif label not in labels:
            problems.append(
                Problem(
                    "--correct",
                    f"{item}: '{label}' is not one of the incident's labels "
                    f"{', '.join(labels)}{suggest(label, labels)}",
                )
            )
        elif label == expected[item]:
            problems.append(Problem("--correct", f"{item} is already labelled '{label}'"))
    return problems


def _dispute_text(finding_id: int, loaded: LoadedIncident, corrections: Mapping[str, str]) -> str:
    expected = {i.id: i.expected for i in loaded.items}
    parts = [f"{item} {expected[item]} → {label}" for item, label in list(corrections.items())[:SHOWN_CORRECTIONS]]
    more = len(corrections) - SHOWN_CORRECTIONS
    return f"label dispute (finding #{finding_id}): " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def list_findings(ws: Workspace, incident_id: str | None = None, open_only: bool = False) -> list[Finding]:
    """Open findings first, then the closed ones; newest first within each."""
    if incident_id:
        ws.incident_folder(incident_id)
    with ws.store().read() as session:
        findings = q.of_incident(session, incident_id, open_only)
    return sorted(findings, key=lambda f: (not f.is_open, -f.id))


def get(ws: Workspace, finding_id: int) -> Finding:
    with ws.store().read() as session:
        found = q.get(session, finding_id)
    if found is None:
        raise UsageError(Problem("finding", f"no finding {finding_id}"))
    return found


def resolve(ws: Workspace, finding_id: int, resolution: str, author: str, rejected: bool = False) -> Finding:
    """Close an open finding as resolved (or rejected: it turned out wrong; a dispute's corrections stop applying)."""
    if not resolution.strip():
        raise UsageError(Problem("--resolution", "say how the finding was resolved"))
    status = FindingStatus.REJECTED if rejected else FindingStatus.RESOLVED
    with ws.store().write() as session:
        _check_open(session, finding_id)
        closed = q.close(session, finding_id, status, resolution.strip())
        add_event(
            session,
            closed.incident_id,
            "finding",
            f"finding #{finding_id} {status.value}: {closed.resolution}",
            author,
            {"finding_id": finding_id, "status": status.value},
        )
        return closed


def _check_open(session: Any, finding_id: int) -> None:
    found = q.get(session, finding_id)
    if found is None:
        raise UsageError(Problem("finding", f"no finding {finding_id}"))
    if found.status is not FindingStatus.OPEN:
        raise UsageError(Problem(f"finding #{finding_id}", _closed_text(found)))


def _closed_text(found: Finding) -> str:
    if found.status is FindingStatus.SUPERSEDED:
        return f"already superseded by #{found.superseded_by}"
    return f"already {found.status.value} at {found.resolved_at}: {found.resolution}"


def supersede(ws: Workspace, finding_id: int, by: int, author: str) -> Finding:
    """Mark a finding as replaced by a later one of the same incident (open or resolved; never twice, never a
    rejected one, either side)."""
    if finding_id == by:
        raise UsageError(Problem("--by", "a finding cannot supersede itself"))
    with ws.store().write() as session:
        old, new = q.get(session, finding_id), q.get(session, by)
        if old is None or new is None:
            raise UsageError(
                Problem("finding" if old is None else "--by", f"no finding {finding_id if old is None else by}")
            )
        if old.incident_id != new.incident_id:
            raise UsageError(Problem("--by", f"finding #{by} is on {new.incident_id}, not {old.incident_id}"))
        for found, where in ((old, f"finding {finding_id}"), (new, "--by")):
            if found.status is FindingStatus.SUPERSEDED:
                raise UsageError(Problem(where, f"finding #{found.id} is already superseded by #{found.superseded_by}"))
            if found.status is FindingStatus.REJECTED:  # its status would be lost, or it would replace a good one
                raise UsageError(Problem(where, f"finding #{found.id} was rejected: {found.resolution}"))
        superseded = q.supersede(session, finding_id, by)
        add_event(
            session,
            old.incident_id,
            "finding",
            f"finding #{finding_id} superseded by #{by}",
            author,
            {"finding_id": finding_id, "superseded_by": by},
        )
        return superseded
