"""Incident services: list, show, status changes, creation, workspace validation."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modtui.domain.incident import Incident, Status
from modtui.errors import InputError, Problem, UsageError
from modtui.files.text import read_text
from modtui.files.yaml import load_yaml
from modtui.incidents.loader import (
    INCIDENT_FILE,
    IncidentFiles,
    LoadedIncident,
    load_incident,
    load_trusted,
    read_files,
)
from modtui.prompts.loader import load_prompt
from modtui.store import incidents as q
from modtui.store.records import EventRecord
from modtui.timeutil import iso
from modtui.workspace import Workspace

SEVERITY_ORDER = {"SEV1": 1, "SEV2": 2, "SEV3": 3, "SEV4": 4}


@dataclass
class IncidentSummary:
    incident: Incident
    counts: Counter[str]
    open_findings: int
    runs: int
    last_activity: str | None

    def as_dict(self) -> dict[str, Any]:
        inc = self.incident
        return {
            **inc.headline(),
            "items": sum(self.counts.values()),
            "false_positive": self.counts["false_positive"],
            "false_negative": self.counts["false_negative"],
            "guard": self.counts["guard"],
            "eval": self.counts["eval"],
            "open_findings": self.open_findings,
            "runs": self.runs,
            "last_activity": self.last_activity,
        }


def load_and_sync(
    ws: Workspace, incident_id: str, before_check: Callable[[IncidentFiles], None] | None = None
) -> LoadedIncident:
    """Load an incident from its files and bring the log's copy up to date.

    When the files are byte for byte those the log recorded as loaded with every check passed (their fingerprint,
    incidents.loader.read_files), the items are built without validating each again and the log is already up to
    date: a 50,000-item incident opens in a fraction of the time. Any other file is loaded and checked in full;
    `before_check` is given the files as read before that (a replay starts deciding their contents meanwhile)."""
    folder = ws.incident_folder(incident_id)
    files = read_files(folder)
    if files is not None and q.files_hash(ws.store(), incident_id) == files.fingerprint:
        trusted = load_trusted(files, ws.root)
        if trusted is not None:
            return trusted
    if files is not None and before_check is not None:
        before_check(files)
    loaded = ws.load_incident(incident_id)
    after = read_files(folder)  # the fingerprint is recorded only if the files did not change while being loaded
    same = files is not None and after is not None and after.fingerprint == files.fingerprint
    q.sync_incident(ws.store(), loaded, files.fingerprint if same and files else None)
    return loaded


def timeline(ws: Workspace, incident_id: str) -> list[EventRecord]:
    """The incident's timeline (runs, findings, status changes, batches), newest first."""
    return q.events(ws.store(), incident_id)


def summaries(ws: Workspace) -> tuple[list[IncidentSummary], list[Problem]]:
    """Every loadable incident with its counts and activity; problems of the others."""
    problems: list[Problem] = []
    loaded: list[LoadedIncident] = []
    for incident_id in ws.incident_ids():
        try:
            loaded.append(load_and_sync(ws, incident_id))
        except InputError as exc:
            problems.extend(exc.problems)
    activity = q.activity(ws.store())
    out = []
    for item in loaded:
        act = activity.get(item.id, {})
        last = max(
            (t for t in (act.get("last_run"), act.get("last_event"), iso(item.incident.opened_at)) if t), default=None
        )
        counts = Counter(i.kind.value for i in item.items if i.kind)
        out.append(IncidentSummary(item.incident, counts, act.get("open_findings", 0), act.get("runs", 0), last))
    return out, problems


def change_status(ws: Workspace, incident_id: str, status: str, author: str, note: str | None = None) -> str:
    """Set the status in incident.yaml (keeping its comments) and record a timeline event."""
    new = Status(status)
    loaded = load_and_sync(ws, incident_id)
    old = loaded.incident.status
    if old is new:
        raise UsageError(Problem(incident_id, f"status is already '{new.value}'"))
    path = ws.inside(loaded.folder / INCIDENT_FILE, f"incidents/{incident_id}/{INCIDENT_FILE}")  # writes stay inside
    text = read_text(path, ws.relative(path))
    # keep the line's comment and its line ending (a CRLF file stays CRLF)
    updated, count = re.subn(
        r"(?m)^status:[ \t]*[^#\r\n]*?([ \t]*(?:#[^\r\n]*)?)(\r?)$", f"status: {new.value}\\1\\2", text, count=1
    )
    if count == 0:
        updated = text.rstrip("\n") + f"\nstatus: {new.value}\n"
    path.write_text(updated, encoding="utf-8")
    q.set_status(ws.store(), incident_id, old.value, new.value, author, note)
    load_and_sync(ws, incident_id)
    return old.value


INCIDENT_TEMPLATE = """\
id: {id}
title: {title}
severity: {severity}
status: open
policy: {policy}
labels: [{labels}]
positive_label: {positive}
production: {{prompt: {prompt}, model: {model}}}
opened_at: {opened_at}
description: {description}
"""


def write_incident_yaml(folder: Path, population: dict[str, int] | None = None, **fields: str | list[str]) -> None:
    """Write incident.yaml from the template; every value is quoted when YAML could misread it. With a
    `population` (stratum → size) the incident is a sample of production traffic."""
    folder.mkdir(parents=True, exist_ok=True)
    quoted = {
        k: ", ".join(map(_scalar, v))
        if isinstance(v, list)
        else json.dumps(v, ensure_ascii=False)
        if k in ("title", "description")
        else v
        if k == "opened_at"
        else _scalar(v)
        for k, v in fields.items()
    }
    text = INCIDENT_TEMPLATE.format(**quoted)
    if population is not None:
        sizes = ", ".join(f"{_scalar(stratum)}: {size}" for stratum, size in population.items())
        text += f"kind: sample            # a random sample of production traffic\npopulation: {{{sizes}}}\n"
    (folder / INCIDENT_FILE).write_text(text, encoding="utf-8")


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")


def _scalar(value: str) -> str:
    """`value` as a YAML flow scalar: bare when it reads back as the same string, else double-quoted."""
    if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def policy_prompt(ws: Workspace, policy: str) -> Path:
    """The policy's production prompt (production.yaml, else its first prompt file)."""
    from modtui.domain.incident import ID_PATTERN, RESERVED_NAMES

    if not ID_PATTERN.match(policy) or policy.upper() in RESERVED_NAMES:
        raise UsageError(
            Problem(
                "--policy",
                f"'{policy[:80]}' is not a policy folder name: use letters, digits, '.', "
                f"'_' or '-' (at most 80, not a name Windows reserves)",
            )
        )
    folder = ws.prompts_dir / policy
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        known = sorted(p.name for p in ws.prompts_dir.iterdir() if p.is_dir()) if ws.prompts_dir.is_dir() else []
        from modtui.files.validate import suggest

        raise UsageError(Problem(ws.relative(folder), f"no prompts for policy '{policy}'{suggest(policy, known)}"))
    preferred = folder / "production.yaml"
    return preferred if preferred in files else files[0]


def validate_workspace(ws: Workspace) -> tuple[dict[str, int], list[Problem]]:
    """Check every incident and prompt; returns counts checked and all problems. A folder with neither incidents/
    nor prompts/ is not a workspace (an incident's folder, a typo): 'ok: 0 incidents' would pass a CI gate."""
    if not ws.incidents_dir.is_dir() and not ws.prompts_dir.is_dir():
        incident = (ws.root / INCIDENT_FILE).is_file()
        hint = f"; it is an incident's folder: validate its workspace, {ws.root.parent.parent}" if incident else ""
        raise UsageError(Problem(str(ws.root), f"not a workspace (no incidents/ or prompts/ folder){hint}"))
    problems: list[Problem] = []
    counts = Counter[str]()
    prompts = sorted(ws.prompts_dir.rglob("*.yaml")) if ws.prompts_dir.is_dir() else []
    for path in prompts:
        counts["prompts"] += 1
        shown = path.relative_to(ws.root).as_posix()
        try:
            load_prompt(ws.inside(path, shown), shown)  # a symlink out of the workspace is refused, never read
        except InputError as exc:
            problems.extend(exc.problems)
    for incident_id in ws.incident_ids():
        counts["incidents"] += 1
        try:
            loaded = load_incident(ws.incidents_dir / incident_id, ws.root)
            counts["items"] += len(loaded.items)
            problems.extend(_cross_checks(ws, loaded))
        except InputError as exc:
            problems.extend(exc.problems)
    return dict(counts), list(dict.fromkeys(problems))  # a prompt shared by incidents is reported once


def _cross_checks(ws: Workspace, loaded: LoadedIncident) -> list[Problem]:
    shown = f"{ws.relative(loaded.folder)}/{INCIDENT_FILE}"
    doc = load_yaml(loaded.folder / INCIDENT_FILE, shown)  # for the lines of the fields checked here
    inc = loaded.incident
    try:
        prompt = ws.load_prompt(inc.production.prompt)
    except UsageError as exc:  # no such prompt file
        return [doc.problem(("production", "prompt"), f"production.prompt: {p.message}") for p in exc.problems]
    except InputError as exc:  # the prompt file is broken: its own problems, at its own lines
        return exc.problems
    missing = [label for label in inc.labels if label not in prompt.template.labels]
    if missing:
        return [
            doc.problem(
                ("labels",), f"labels {missing} are not in the production prompt's labels {prompt.template.labels}"
            )
        ]
    if not (ws.prompts_dir / inc.policy).is_dir():
        return [doc.problem(("policy",), f"policy '{inc.policy}' has no folder prompts/{inc.policy}/")]
    return []
