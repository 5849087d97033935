"""Load an incident folder (incident.yaml + items.jsonl), reporting every problem with file:line."""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from modtui.domain.incident import DEFAULT_STRATUM, Incident, Item, ItemKind, derive_kind
from modtui.errors import InputError, Problem
from modtui.files.jsonline import JsonLineError, parse_json_line
from modtui.files.paths import check_regular
from modtui.files.text import BOM, iter_lines
from modtui.files.validate import suggest, validate_model
from modtui.files.yaml import Located, load_yaml, parse_yaml

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


# Part of every fingerprint, with both files' bytes: bump it whenever what a valid incident folder loads as could
# change (a new check, a new field, normalisation such as kinds and ids), so that files passed under an older schema
# are checked again in full. 3: the fingerprint is of the data and this version (was: of the loader's own source).
# 4: a sample's stratum holds no more items than its population.
SCHEMA_VERSION = "incident files 4"


@dataclass(frozen=True)
class IncidentFiles:
    """An incident folder's two files as read once, and their fingerprint (sha256 of SCHEMA_VERSION and both files)."""

    folder: Path
    head: bytes  # incident.yaml
    items: bytes  # items.jsonl
    fingerprint: str

    def item_lines(self) -> list[tuple[int, str]]:
        """items.jsonl's lines that are not blank, numbered as `jsonl_lines` numbers them, each decoded on its own:
        no second copy of the whole file as text (a head start holds these lines while its workers fork)."""
        data = self.items.removeprefix(BOM.encode())
        return [
            (number, line)
            for number, raw in enumerate(data.split(b"\n"), start=1)
            if (line := raw.decode("utf-8").removesuffix("\r")) and not line.isspace()
        ]


def read_files(folder: Path) -> IncidentFiles | None:
    """The folder's files and fingerprint; None when one cannot be read (load_incident then says why)."""
    try:
        for name in (INCIDENT_FILE, ITEMS_FILE):  # a FIFO or device is never read here: load_incident says why
            check_regular(folder / name, name)
        head, items = (folder / INCIDENT_FILE).read_bytes(), (folder / ITEMS_FILE).read_bytes()
    except (OSError, InputError):
        return None
    digest = hashlib.sha256()
    for part in (SCHEMA_VERSION.encode(), head, items):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return IncidentFiles(folder, head, items, digest.hexdigest())


def load_trusted(files: IncidentFiles, display_root: Path | None = None) -> LoadedIncident | None:
    """The incident from files byte for byte the same as files that passed `load_incident` (the log records
    their fingerprint, see services.incidents.load_and_sync): the items validated in one call into pydantic-core,
    the whole file as one JSON array (as fast as building them unchecked was: a 50,000-item incident's first paint),
    with what load_incident adds: the derived kind. None when that one parse refuses what the line-by-line load
    took (a JSON form only Python's decoder reads): the caller loads the files in full."""
    shown = _shown(files.folder, display_root)
    incident = incident_from_doc(parse_yaml(files.head.decode("utf-8").removeprefix(BOM), f"{shown}/{INCIDENT_FILE}"))
    positive = incident.positive_label
    numbered = files.item_lines()
    try:
        items = _items().validate_json("[" + ",".join(raw for _, raw in numbered) + "]")
    except ValidationError:
        return None
    item_lines: dict[str, int] = {}
    for (number, _), item in zip(numbered, items, strict=True):
        if item.kind is None:
            item.kind = derive_kind(item.expected, item.observed, positive)  # as check_item assigns it (a set field)
        item_lines[item.id] = number
    return LoadedIncident(incident, items, files.folder, item_lines)


@functools.cache
def _items() -> TypeAdapter[list[Item]]:
    return TypeAdapter(list[Item])


def load_incident_file(path: Path, shown: str) -> Incident:
    return incident_from_doc(load_yaml(path, shown))


def incident_from_doc(doc: Located) -> Incident:
    incident, problems = validate_model(Incident, doc)
    if problems or incident is None:
        raise InputError(problems)
    return incident


def parse_items(
    path: Path, shown: str, incident: Incident, *, keep: bool = True
) -> tuple[list[Item], dict[str, int], list[Problem]]:
    """Every line of items.jsonl validated against the incident, read line by line; returns items, id→line,
    problems. With keep=False the items are validated and counted but not kept (a big file's check)."""
    items: list[Item] = []
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    sampled: Counter[str] = Counter()  # a sample's items per stratum, to hold against its population
    for number, raw in iter_lines(path, shown):
        if not raw.strip():
            continue
        item, item_problems, raw_id = parse_item_line(raw, number, shown, incident)
        if raw_id is not None and raw_id in lines:
            item_problems.append(
                Problem(shown, f"duplicate item id '{raw_id}' (first on line {lines[raw_id]})", number)
            )
        elif raw_id is not None:
            lines[raw_id] = number
        population = incident.population
        if item is not None and not item_problems and population and (h := past_population(item, population, sampled)):
            item_problems.append(
                Problem(
                    shown,
                    f"stratum '{h}' holds more items than its population in incident.yaml ({population[h]}): "
                    "a sample is drawn from its population, so it cannot be larger",
                    number,
                )
            )
        problems.extend(item_problems)
        if item is not None and not item_problems:
            if keep:
                items.append(item)
    # blank: an incident with no items yet (`incident new` without --items) is valid, and shown as empty
    return items, lines, problems


def past_population(item: Item, population: dict[str, int], sampled: Counter[str]) -> str | None:
    """The item counted in its stratum (`sampled`); the stratum when this item is the first one more than the
    population it was drawn from (a sample cannot be larger), else None."""
    stratum = item.stratum or DEFAULT_STRATUM
    sampled[stratum] += 1
    return stratum if stratum in population and sampled[stratum] == population[stratum] + 1 else None


def jsonl_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) split on LF only (CRLF tolerated): str.splitlines() would also split inside JSON
    strings holding U+2028, U+2029 or U+0085, which JSON writers (ours included) leave unescaped."""
    return [(number, line.removesuffix("\r")) for number, line in enumerate(text.split("\n"), start=1)]


def parse_item_line(
    raw: str, number: int, shown: str, incident: Incident
) -> tuple[Item | None, list[Problem], str | None]:
    """One JSONL line → item (or None), its problems, and its raw id (for duplicate checks)."""
    try:
        data = parse_json_line(raw, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        return None, [Problem(shown, f"invalid JSON: {exc.msg}", number, exc.colno)], None
    except JsonLineError as exc:
        return None, [Problem(shown, exc.message, number, exc.col)], None
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
    out = dict(pairs)
    if len(out) != len(pairs):  # a key given twice (counted in C): name the first one repeated
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def check_item(item: Item, incident: Incident, shown: str, number: int) -> list[Problem]:
    """Labels in the incident's set, and a kind consistent with expected vs observed (filled in if absent)."""
    problems = []
    for field_name in ("expected", "observed"):
        value = getattr(item, field_name)
        if value is not None and value not in incident.labels:
            hint = suggest(value, incident.labels)
            problems.append(
                Problem(shown, f"{field_name} label '{value}' is not one of {incident.labels}{hint}", number)
            )
    problems += _annotation_problems(item, incident, shown, number)
    if incident.population is not None and (item.stratum or DEFAULT_STRATUM) not in incident.population:
        problems.append(
            Problem(
                shown,
                f"stratum '{item.stratum or DEFAULT_STRATUM}' has no population size in "
                f"incident.yaml (population: {sorted(incident.population)})",
                number,
            )
        )
    if problems:
        return problems
    derived = derive_kind(item.expected, item.observed, incident.positive_label)
    if item.kind is None:
        item.kind = derived
    elif item.kind is not ItemKind.EVAL and item.observed is None:
        problems.append(
            Problem(
                shown,
                f"kind '{item.kind.value}' needs an observed label (production's verdict); "
                f"without one the item is 'eval'",
                number,
            )
        )
    elif item.kind is not ItemKind.EVAL and item.kind is not derived:
        problems.append(
            Problem(
                shown,
                f"kind '{item.kind.value}' contradicts expected '{item.expected}' and observed "
                f"'{item.observed}' (that is '{derived.value}')",
                number,
            )
        )
    return problems


def _annotation_problems(item: Item, incident: Incident, shown: str, number: int) -> list[Problem]:
    problems, seen = [], set()
    for a in item.annotations or ():
        if a.label not in incident.labels:
            hint = suggest(a.label, incident.labels)
            problems.append(
                Problem(
                    shown,
                    f"annotation by '{a.annotator}': label '{a.label}' is not one of {incident.labels}{hint}",
                    number,
                )
            )
        if a.annotator in seen:
            problems.append(Problem(shown, f"annotator '{a.annotator}' labels this item twice", number))
        seen.add(a.annotator)
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
