"""Import a CSV or JSONL export into items, with a column mapping and a label mapping.

The export is streamed: rows are read, checked and handed to a sink one at a time (only the ids seen so
far are kept, for duplicate checks), so a 200,000-row export never sits in memory whole.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modtui.domain.incident import UNPRINTABLE_ID, Annotation, Item, derive_kind, unprintable
from modtui.errors import InputError, Problem
from modtui.files.jsonline import JsonLineError, parse_json_line
from modtui.files.text import iter_lines, open_text
from modtui.files.validate import suggest
from modtui.incidents.loader import MAX_PROBLEMS, past_population

csv.field_size_limit(64 * 1024 * 1024)


@dataclass
class Mapping:
    content: str
    expected: str
    observed: str | None = None
    id: str | None = None
    meta: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # export value → policy label
    annotations: list[str] = field(default_factory=list)  # columns of reviewers' labels; the name is the annotator
    stratum: str | None = None  # a sample's stratum column
    weight: str | None = None  # a sample's design-weight column
    population: dict[str, int] | None = None  # a sample's population size per stratum (--population)


@dataclass
class ImportResult:
    items: list[Item]  # empty when a sink took them
    rows: int
    imported: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # bad rows skipped (--on-bad-row skip), each handed to the rejects sink
    duplicates: int = 0  # rows dropped by --dedupe first|last
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (column role, value) → rows


@dataclass(frozen=True)
class RowPolicy:
    """What an import does with rows that cannot be items and with repeated ids."""

    on_bad_row: str = "fail"  # fail: nothing is imported | skip: the row goes to `rejects`, the rest is imported
    dedupe: str = "fail"  # fail | first: keep the first row of an id | last: keep the last
    rejects: Callable[[dict[str, Any]], None] | None = None  # {"line", "reasons", "row"} of each skipped row


ON_BAD_ROW = ("fail", "skip")
DEDUPE = ("fail", "first", "last")


@dataclass(frozen=True)
class _UnmappedLabel(Problem):
    """A row's label value with no mapping; reported once per distinct value."""

    role: str = ""
    value: str = ""


def import_items(
    path: Path,
    shown: str,
    mapping: Mapping,
    labels: list[str],
    positive: str,
    sink: Callable[[Item], None] | None = None,
    policy: RowPolicy = RowPolicy(),
) -> ImportResult:
    """Read every row; all problems (missing columns, unmapped labels — once per distinct value —, duplicate
    ids) at once. With `policy.on_bad_row == "skip"` a bad row is handed to `policy.rejects` with its reasons
    instead; `policy.dedupe` keeps the first or last row of a repeated id instead of failing.

    Good items go to `sink` as they are read (the caller discards what it wrote if this raises), else
    they are returned in the result."""
    problems: list[Problem] = [
        Problem("--label-map", f"'{src}={dst}': '{dst}' is not a label of this policy {labels}{suggest(dst, labels)}")
        for src, dst in mapping.labels.items()
        if dst not in labels
    ]
    if problems:
        raise InputError(problems)
    result = ImportResult([], 0)
    last = _last_rows(path, shown, mapping) if policy.dedupe == "last" else {}
    unmapped_at: dict[tuple[str, str], int] = {}  # first line of each unmapped value
    seen: dict[str, int] = {}
    sampled: Counter[str] = Counter()  # a sample's items per stratum
    header_checked = False
    bad_lines: list[Problem] = []
    stopped: Problem | None = None
    for line, row in read_rows(path, shown, bad_lines.append):
        if not header_checked and row is not None:
            missing = _check_columns(mapping, list(row), shown)
            problems += missing
            header_checked = True
            if missing:
                break
        row_problems: list[Problem] = list(bad_lines)
        bad_lines.clear()
        if row is not None:
            result.rows += 1
            item = _item(row, line, result.rows, mapping, labels, positive, shown, row_problems)
            if item is not None and (item.id in seen or last.get(item.id, line) != line):
                if policy.dedupe == "fail":
                    row_problems.append(
                        Problem(shown, f"duplicate id '{item.id}' (first on line {seen[item.id]})", line)
                    )
                else:
                    result.duplicates += 1
                    continue
        if row_problems:
            for p in row_problems:
                if isinstance(p, _UnmappedLabel):
                    result.unmapped[(p.role, p.value)] += 1
                    unmapped_at.setdefault((p.role, p.value), line)
            if policy.on_bad_row == "skip":
                result.skipped += 1
                if policy.rejects is not None:
                    policy.rejects({"line": line, "reasons": [p.message for p in row_problems], "row": row})
                continue
            problems += [p for p in row_problems if not isinstance(p, _UnmappedLabel)]
        elif item is not None:
            seen[item.id] = line
            population = mapping.population
            if population and (stratum := past_population(item, population, sampled)):
                size = population[stratum]
                problems.append(
                    Problem(shown, f"stratum '{stratum}' has more rows than its --population size ({size})", line)
                )
            result.kinds[item.kind.value if item.kind else "eval"] += 1
            if sink is None:
                result.items.append(item)
            elif not problems and (policy.on_bad_row == "skip" or not result.unmapped):  # once a fail is
                # certain nothing will be kept: stop writing
                sink(item)
        if len(problems) + len(result.unmapped) >= MAX_PROBLEMS:  # (a wrong mapping fails every row)
            stopped = Problem(shown, f"stopped after {MAX_PROBLEMS} problems", line)
            break
    if not header_checked and not problems:
        problems.append(Problem(shown, "no rows to import (the file is empty or has only a header)", 1))
    if policy.on_bad_row == "fail":
        problems += [
            _unmapped_problem(shown, role, value, count, unmapped_at[(role, value)], labels)
            for (role, value), count in result.unmapped.items()
        ]
    if problems:
        shown_first = sorted(problems, key=lambda p: p.line or 0)[:MAX_PROBLEMS]
        raise InputError(shown_first + ([stopped] if stopped else []))
    result.imported = sum(result.kinds.values())
    return result


def _unmapped_problem(shown: str, role: str, value: str, count: int, line: int, labels: list[str]) -> Problem:
    rows = f" ({count} rows, first on this line)" if count > 1 else ""
    hint = f"; add --label-map '{value}=LABEL'" if value else ""
    return Problem(shown, f"{role} value '{value}' is not a label of this policy {labels}{rows}{hint}", line)


def _last_rows(path: Path, shown: str, mapping: Mapping) -> dict[str, int]:
    """id → line of its last row (for --dedupe last: a first pass over the export, ids only)."""
    last: dict[str, int] = {}
    id_column: str | None = None
    for line, row in read_rows(path, shown, lambda problem: None):
        if row is None or mapping.id is None:
            continue
        id_column = id_column or _resolve(mapping.id, list(row)) or mapping.id
        last[str(row.get(id_column)).strip()] = line
    return last


BadRow = Callable[[Problem], None]


def read_rows(path: Path, shown: str, bad: BadRow | None = None) -> Iterator[tuple[int, Any]]:
    """(line, row) of a CSV or JSONL (.jsonl, .ndjson) export, streamed. A row that cannot be read (invalid
    JSON, too many fields) raises InputError, or with `bad` is handed to it and yielded as (line, None)."""
    rows = _rows_jsonl(path, shown) if path.suffix.lower() in (".jsonl", ".ndjson") else _rows_csv(path, shown)
    for line, row in rows:
        if isinstance(row, Problem):
            if bad is None:
                raise InputError(row)
            bad(row)
            yield line, None
        else:
            yield line, row


def _rows_csv(path: Path, shown: str) -> Iterator[tuple[int, dict[str, str] | Problem]]:
    with open_text(path, shown) as text:
        yield from _csv_records(text, shown)


def _csv_records(text: Iterator[str], shown: str) -> Iterator[tuple[int, dict[str, str] | Problem]]:
    # strict: an unclosed quote is an error at its row, not a field that silently swallows the rest of the file
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(Problem(shown, f"CSV error: {exc}", 1)) from None
    names = [h.strip().strip("\ufeff") for h in header]
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = "a quoted field in this row is never closed" if "unexpected end of data" in str(exc) else str(exc)
            raise InputError(Problem(shown, f"CSV error: {reason}", line)) from None
        if any(cell.strip() for cell in record):
            if len(record) > len(names):
                yield line, Problem(shown, f"row has {len(record)} fields but the header has {len(names)}", line)
            else:
                yield line, dict(zip(names, record + [""] * (len(names) - len(record))))
        line = reader.line_num + 1


def _rows_jsonl(path: Path, shown: str) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    for number, raw in iter_lines(path, shown):
        if not raw.strip():
            continue
        try:
            data = parse_json_line(raw)
        except json.JSONDecodeError as exc:
            yield number, Problem(shown, f"invalid JSON: {exc.msg}", number, exc.colno)
            continue
        except JsonLineError as exc:
            yield number, Problem(shown, exc.message, number, exc.col)
            continue
        if not isinstance(data, dict):
            yield number, Problem(shown, "expected a JSON object on each line", number)
            continue
        yield number, data


def _resolve(name: str, columns: list[str]) -> str | None:
    """Exact column name, else a case/whitespace-insensitive match (export headers are messy)."""
    if name in columns:
        return name
    folded = {c.strip().lower(): c for c in columns}
    return folded.get(name.strip().lower())


def _check_columns(mapping: Mapping, columns: list[str], shown: str) -> list[Problem]:
    problems = []
    wanted = [
        ("--content-col", mapping.content),
        ("--expected-col", mapping.expected),
        ("--observed-col", mapping.observed),
        ("--id-col", mapping.id),
    ] + [("--meta-col", m) for m in mapping.meta]
    wanted += [("--annotation-cols", a) for a in mapping.annotations]
    wanted += [("--stratum-col", mapping.stratum), ("--weight-col", mapping.weight)]
    for option, name in wanted:
        if name is not None and _resolve(name, columns) is None:
            problems.append(
                Problem(
                    shown,
                    f"{option} '{name}' is not a column{suggest(name, columns)}; columns: {', '.join(columns)}",
                    1,
                )
            )
    return problems


def _label(
    value: Any, mapping: Mapping, labels: list[str], what: str, shown: str, line: int, problems: list[Problem]
) -> str | None:
    text = "" if value is None else str(value).strip()
    mapped = mapping.labels.get(text, mapping.labels.get(text.lower(), text))
    if mapped in labels:
        return mapped
    hint = f"; add --label-map '{text}=LABEL'" if text else ""
    problems.append(
        _UnmappedLabel(
            shown, f"{what} value '{text}' is not a label of this policy {labels}{hint}", line, role=what, value=text
        )
    )
    return None


def _item(
    row: dict[str, Any],
    line: int,
    index: int,
    mapping: Mapping,
    labels: list[str],
    positive: str,
    shown: str,
    problems: list[Problem],
) -> Item | None:
    cols = list(row)
    get = lambda name: row.get(_resolve(name, cols) or name)  # noqa: E731
    before = len(problems)
    expected = _label(get(mapping.expected), mapping, labels, "expected", shown, line, problems)
    observed = None
    if mapping.observed is not None:
        observed = _label(get(mapping.observed), mapping, labels, "observed", shown, line, problems)
    content = get(mapping.content)
    if content is None or not str(content).strip():  # whitespace only is empty too
        problems.append(Problem(shown, f"empty content in column '{mapping.content}'", line))
    item_id = str(get(mapping.id)).strip() if mapping.id else f"row-{index:06d}"
    if not item_id or item_id == "None":
        problems.append(Problem(shown, f"empty id in column '{mapping.id}'", line))
    elif unprintable(item_id):
        problems.append(Problem(shown, f"id in column '{mapping.id}' {UNPRINTABLE_ID}", line))
    annotations = _annotations(get, mapping, labels, shown, line, problems)
    stratum = _stratum(get(mapping.stratum), mapping, shown, line, problems) if mapping.stratum else None
    weight = _weight(get(mapping.weight), mapping.weight, shown, line, problems) if mapping.weight else None
    if len(problems) > before or expected is None:
        return None
    meta = {m: get(m) for m in mapping.meta}
    kind = derive_kind(expected, observed, positive)
    return Item(
        id=item_id,
        content=str(content),
        expected=expected,
        observed=observed,
        kind=kind,
        meta=meta,
        annotations=annotations,
        stratum=stratum,
        weight=weight,
    )


def _stratum(value: Any, mapping: Mapping, shown: str, line: int, problems: list[Problem]) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text or unprintable(text):
        problems.append(
            Problem(
                shown,
                f"{'empty stratum' if not text else 'a stratum with control characters'} in column '{mapping.stratum}'",
                line,
            )
        )
        return None
    if mapping.population is not None and text not in mapping.population:
        strata = sorted(mapping.population)
        problems.append(
            Problem(
                shown,
                f"stratum '{text}' has no --population size (given: {', '.join(strata)}){suggest(text, strata)}",
                line,
            )
        )
        return None
    return text


def _weight(value: Any, column: str, shown: str, line: int, problems: list[Problem]) -> float | None:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        weight = math.nan
    if not math.isfinite(weight) or weight <= 0:
        problems.append(Problem(shown, f"weight in column '{column}' is not a number above 0", line))
        return None
    return weight


def _annotations(
    get: Callable[[str], Any], mapping: Mapping, labels: list[str], shown: str, line: int, problems: list[Problem]
) -> list[Annotation] | None:
    """The reviewers' labels of a row (an empty cell: that reviewer did not label it); None when there are none."""
    out = []
    for column in mapping.annotations:
        value = get(column)
        if value is None or str(value).strip() == "":
            continue
        label = _label(value, mapping, labels, f"annotation column '{column}'", shown, line, problems)
        if label is not None:
            out.append(Annotation(annotator=column, label=label))
    return out or None


class ItemsWriter:
    """items.jsonl written one item at a time (a sink for import_items)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> "ItemsWriter":
        self._out = self.path.open("w", encoding="utf-8", newline="\n")
        return self

    def write(self, item: Item) -> None:
        self._out.write(json.dumps(item.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n")

    def __exit__(self, *exc: object) -> None:
        self._out.close()


class RejectsWriter:
    """incidents/ID/import-rejects.jsonl: one skipped row a line with its line number and reasons (written only
    when a row is skipped)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: Any = None

    def write(self, reject: dict[str, Any]) -> None:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = self.path.open("w", encoding="utf-8", newline="\n")
        self._out.write(json.dumps(reject, ensure_ascii=False, default=str) + "\n")

    def __enter__(self) -> "RejectsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._out is not None:
            self._out.close()
