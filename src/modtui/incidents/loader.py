"""Load an incident folder (incident.yaml + items.jsonl), reporting every problem with file:line."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from modtui.domain.incident import Incident, Item, ItemKind, derive_kind
from modtui.errors import InputError, Problem
from modtui.files.text import iter_lines
from modtui.files.validate import suggest, validate_model
from modtui.files.yaml import Located, load_yaml

MAX_PROBLEMS = 100
INCIDENT_FILE = "incident.yaml"
ITEMS_FILE = "items.jsonl"


@dataclass
class LoadedIncident:
    incident: Incident
    items: list[Item]
    folder: Path
    item_lines: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.incident.id


def load_incident(folder: Path, display_root: Path | None = None, *, keep_items: bool = True) -> LoadedIncident:
    """Load and validate one incident folder; raises InputError listing all its problems.

    keep_items=False validates every item without keeping them (`items` comes back empty): a check of a big
    folder in little memory."""
    shown = _shown(folder, display_root)
    doc = load_yaml(folder / INCIDENT_FILE, f"{shown}/{INCIDENT_FILE}")
    incident = incident_from_doc(doc)
    if incident.id != folder.name:
        raise InputError(doc.problem(("id",), f"id '{incident.id}' does not match the folder name '{folder.name}'"))
    items, lines, problems = parse_items(folder / ITEMS_FILE, f"{shown}/{ITEMS_FILE}", incident, keep=keep_items)
    if problems:
        raise InputError(_capped(problems))
    return LoadedIncident(incident, items, folder, lines)


def load_incident_file(path: Path, shown: str) -> Incident:
    return incident_from_doc(load_yaml(path, shown))


def incident_from_doc(doc: Located) -> Incident:
    incident, problems = validate_model(Incident, doc)
    if problems or incident is None:
        raise InputError(problems)
    return incident


def parse_items(path: Path, shown: str, incident: Incident, *, keep: bool = True
                ) -> tuple[list[Item], dict[str, int], list[Problem]]:
    """Every line of items.jsonl validated against the incident, read line by line; returns items, id→line,
    problems. With keep=False the items are validated and counted but not kept (a big file's check)."""
    items: list[Item] = []
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    blank, good = True, 0
    for number, raw in iter_lines(path, shown):
        if not raw.strip():
            continue
        blank = False
        item, item_problems, raw_id = parse_item_line(raw, number, shown, incident)
        if raw_id is not None and raw_id in lines:
            item_problems.append(Problem(shown, f"duplicate item id '{raw_id}' (first on line {lines[raw_id]})", number))
        elif raw_id is not None:
            lines[raw_id] = number
        problems.extend(item_problems)
        if item is not None and not item_problems:
            good += 1
            if keep:
                items.append(item)
    if blank:
        return [], {}, [Problem(shown, "file is empty: expected one JSON object per line", 1)]
    if not good and not problems:
        problems.append(Problem(shown, "no items", 1))
    return items, lines, problems


def jsonl_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) split on LF only (CRLF tolerated): str.splitlines() would also split inside JSON
    strings holding U+2028, U+2029 or U+0085, which JSON writers (ours included) leave unescaped."""
    return [(number, line.removesuffix("\r")) for number, line in enumerate(text.split("\n"), start=1)]


def parse_item_line(raw: str, number: int, shown: str, incident: Incident
                    ) -> tuple[Item | None, list[Problem], str | None]:
    """One JSONL line → item (or None), its problems, and its raw id (for duplicate checks)."""
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        return None, [Problem(shown, f"invalid JSON: {exc.msg}", number, exc.colno)], None
    except _DuplicateKey as exc:
        return None, [Problem(shown, f"duplicate key '{exc.args[0]}' (a later value would silently win)", number)], None
    raw_id = str(data["id"]) if isinstance(data, dict) and isinstance(data.get("id"), (str, int)) else None
    doc = Located(shown, data, values={(): (number, None)})  # type: ignore[dict-item]
    item, problems = validate_model(Item, doc)
    if item is None:
        return None, [Problem(p.path, p.message, number) for p in problems], raw_id
    problems = check_item(item, incident, shown, number)
    return (None if problems else item), problems, raw_id


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def check_item(item: Item, incident: Incident, shown: str, number: int) -> list[Problem]:
    """Labels in the incident's set, and a kind consistent with expected vs observed (filled in if absent)."""
    problems = []
    for field_name in ("expected", "observed"):
        value = getattr(item, field_name)
        if value is not None and value not in incident.labels:
            hint = suggest(value, incident.labels)
            problems.append(Problem(shown, f"{field_name} label '{value}' is not one of {incident.labels}{hint}", number))
    if problems:
        return problems
    derived = derive_kind(item.expected, item.observed, incident.positive_label)
    if item.kind is None:
        item.kind = derived
    elif item.kind is not ItemKind.EVAL and item.observed is None:
        problems.append(Problem(shown, f"kind '{item.kind.value}' needs an observed label (production's verdict); "
                                       f"without one the item is 'eval'", number))
    elif item.kind is not ItemKind.EVAL and item.kind is not derived:
        problems.append(Problem(shown, f"kind '{item.kind.value}' contradicts expected '{item.expected}' and observed "
                                       f"'{item.observed}' (that is '{derived.value}')", number))
    return problems


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return problems[:MAX_PROBLEMS] + [Problem(problems[-1].path, f"... and {rest} more problems")]


def _shown(folder: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(folder.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(folder)
