"""Create an incident folder: `incident new` (an incident.yaml, items optional) and `incident import` (from a CSV or
JSONL export). One service for the CLI and the TUI.

The folder is written into a hidden staging folder named like the incident (so it validates as itself), checked in
full, and only then moved into place: a bad import leaves nothing behind, and an existing incident is replaced only
when asked (`force`), never through a symlink pointing outside the workspace.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from modtui.domain.incident import ID_PATTERN, RESERVED_NAMES
from modtui.errors import InputError, Problem, UsageError
from modtui.files.paths import check_regular
from modtui.incidents import importer, loader
from modtui.incidents.loader import INCIDENT_FILE, ITEMS_FILE
from modtui.services.incidents import policy_prompt, write_incident_yaml
from modtui.workspace import Workspace

REJECTS_FILE = "import-rejects.jsonl"  # the rows an import skipped (on_bad_row="skip"), each with its reasons


@dataclass(frozen=True)
class NewIncident:
    """What incident.yaml says of a new incident. `labels` empty: the policy's production prompt's labels;
    `positive_label` None: the first label; `force`: replace an existing incident folder."""

    id: str
    policy: str
    title: str | None = None
    severity: str = "SEV3"
    production_model: str = "offline"
    labels: Sequence[str] = ()
    positive_label: str | None = None
    description: str = ""
    force: bool = False


def create(ws: Workspace, new: NewIncident, items_file: Path | None = None, items_shown: str | None = None) -> Path:
    """incidents/ID/ with its incident.yaml, and `items_file` (modtui's item format, validated) or no items yet."""
    folder = new_folder(ws, new)
    names, positive = policy_labels(ws, new.policy, new.labels, new.positive_label)
    with _staging(folder) as staging:
        write_incident_yaml(staging, None, **_fields(ws, new, new.title or new.id, names, positive))
        if items_file is not None:
            check_regular(items_file, items_shown or str(items_file))  # a FIFO or device would block or never end
            shutil.copyfile(items_file, staging / ITEMS_FILE)
        else:
            (staging / ITEMS_FILE).write_text("", encoding="utf-8")
        _publish(staging, folder, check_items=items_file is not None, items_shown=items_shown)
    return folder


def import_export(
    ws: Workspace,
    new: NewIncident,
    source: Path,
    shown: str,
    mapping: importer.Mapping,
    population: dict[str, int] | None = None,
    on_bad_row: str = "fail",
    dedupe: str = "fail",
) -> tuple[Path, importer.ImportResult]:
    """incidents/ID/ from an export, streamed (never whole in memory); `population` makes it a sample; skipped rows
    go to REJECTS_FILE in the folder."""
    folder = new_folder(ws, new)
    names, positive = policy_labels(ws, new.policy, new.labels, new.positive_label)
    with _staging(folder) as staging:
        write_incident_yaml(
            staging, population, **_fields(ws, new, new.title or f"Imported from {source.name}", names, positive)
        )
        with (
            importer.ItemsWriter(staging / ITEMS_FILE) as items,
            importer.RejectsWriter(staging / REJECTS_FILE) as rejects,
        ):
            rows = importer.RowPolicy(on_bad_row, dedupe, rejects.write)
            result = importer.import_items(source, shown, mapping, names, positive, items.write, rows)
        _publish(staging, folder, check_items=True)
    return folder, result


def policy_labels(ws: Workspace, policy: str, labels: Sequence[str], positive: str | None) -> tuple[list[str], str]:
    """The labels (given, else the policy's production prompt's) and the positive one among them."""
    prompt_labels = list(ws.load_prompt(ws.relative(policy_prompt(ws, policy))).template.labels)
    names = list(labels) or prompt_labels
    unknown = [name for name in names if name not in prompt_labels]
    if unknown:  # `modtui validate` and a replay would refuse the incident: its verdicts could never match
        raise UsageError(
            Problem("--labels", f"{unknown} are not labels of the {policy} production prompt {prompt_labels}")
        )
    chosen = positive or names[0]
    if chosen not in names or len(names) < 2:
        raise UsageError(Problem("--positive-label", f"'{chosen}' must be one of at least two labels {names}"))
    return names, chosen


def new_folder(ws: Workspace, new: NewIncident) -> Path:
    """Where the incident goes: a usable id, inside the workspace, not there yet unless `force`."""
    if not ID_PATTERN.match(new.id):
        raise UsageError(Problem(new.id[:80], "incident id: use letters, digits, '.', '_' or '-' (e.g. INC-0042)"))
    if new.id.split(".", 1)[0].upper() in RESERVED_NAMES:
        raise UsageError(Problem(new.id, "incident id: a name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"))
    folder = ws.inside(ws.incidents_dir, "incidents/") / new.id
    if folder.is_symlink() or folder.exists():
        ws.inside(folder, f"incidents/{new.id}")  # force never replaces what a symlink points at outside
    if folder.exists() and not new.force:
        raise UsageError(Problem(ws.relative(folder), "incident already exists; use --force to overwrite"))
    return folder


def _fields(
    ws: Workspace, new: NewIncident, title: str, labels: list[str], positive: str
) -> dict[str, str | list[str]]:
    return {
        "id": new.id,
        "title": title,
        "severity": new.severity,
        "policy": new.policy,
        "labels": labels,
        "positive": positive,
        "prompt": ws.relative(policy_prompt(ws, new.policy)),
        "model": new.production_model,
        "description": new.description or "(describe the escalation)",
        "opened_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@contextmanager
def _staging(folder: Path) -> Iterator[Path]:
    """A folder named like the incident inside a hidden staging folder, removed however the block ends."""
    parent = folder.parent / f".staging-{folder.name}"
    shutil.rmtree(parent, ignore_errors=True)
    try:
        yield parent / folder.name
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _publish(staged: Path, folder: Path, *, check_items: bool, items_shown: str | None = None) -> None:
    """Validate the staged folder, then move it into place.

    Messages name the incident's final folder, or `items_shown` (the user's own items file) for problems in the
    items; without `check_items` only incident.yaml is checked (no items yet)."""
    shown = f"{folder.parent.name}/{folder.name}"
    try:
        if check_items:
            loader.load_incident(staged, staged.parent, keep_items=False)
        else:
            loader.load_incident_file(staged / INCIDENT_FILE, f"{shown}/{INCIDENT_FILE}")
    except InputError as exc:
        raise InputError(
            [
                replace(
                    p,
                    path=items_shown
                    if items_shown and p.path.endswith(ITEMS_FILE)
                    else p.path.replace(folder.name, shown, 1),
                )
                for p in exc.problems
            ]
        ) from None
    shutil.rmtree(folder, ignore_errors=True)
    staged.rename(folder)
