"""`incident import FILE --update`: add the labels of a labelled file to an incident's items as annotations.

The file is a CSV or JSONL export (e.g. `modtui queue --export`, filled in by a labelling tool): an id column
naming the incident's items and one or more label columns, each an annotator. An item's other annotators are
kept; an annotator who labels an item again replaces their own earlier label. An empty cell adds nothing. Every
problem (missing column, unknown item, a value that is not a label) is reported with its line, and nothing is
written unless the whole file is good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modtui.domain.incident import Annotation, Item
from modtui.errors import InputError, Problem
from modtui.files.validate import suggest
from modtui.incidents.importer import read_rows
from modtui.incidents.loader import MAX_PROBLEMS


@dataclass(frozen=True)
class LabelColumns:
    id: str  # the column naming the item
    annotators: dict[str, str]  # label column → annotator
    label_map: dict[str, str]  # export value → policy label


@dataclass
class UpdateResult:
    items: list[Item]
    added: int = 0  # annotations new to their item
    replaced: int = 0  # an annotator's earlier label changed
    rows: int = 0


def read_labels(
    rows: Iterable[tuple[int, dict[str, Any]]],
    shown: str,
    columns: LabelColumns,
    labels: Sequence[str],
    known: set[str],
) -> dict[str, list[Annotation]]:
    """item id → the annotations its rows give; InputError naming every bad line."""
    problems: list[Problem] = []
    out: dict[str, list[Annotation]] = {}
    checked = False
    for line, row in rows:
        if not checked:
            checked = True
            missing = [c for c in (columns.id, *columns.annotators) if c not in row]
            if missing:
                raise InputError(
                    [
                        Problem(shown, f"no column '{c}'{suggest(c, list(row))}; columns: {', '.join(row)}", line)
                        for c in missing
                    ]
                )
        item_id = str(row.get(columns.id) or "").strip()
        if item_id not in known:
            problems.append(Problem(shown, f"no item '{item_id}' in the incident{suggest(item_id, known)}", line))
            continue
        for column, annotator in columns.annotators.items():
            value = str(row.get(column) or "").strip()
            if not value:
                continue
            label = columns.label_map.get(value, columns.label_map.get(value.lower(), value))
            if label not in labels:
                problems.append(
                    Problem(
                        shown,
                        f"column '{column}' value '{value}' is not a label {list(labels)}"
                        f"; add --label-map '{value}=LABEL'",
                        line,
                    )
                )
                continue
            out.setdefault(item_id, []).append(Annotation(annotator=annotator, label=label))
        if len(problems) >= MAX_PROBLEMS:
            problems.append(Problem(shown, f"stopped after {MAX_PROBLEMS} problems", line))
            break
    if not checked:
        problems.append(Problem(shown, "no rows (the file is empty or has only a header)", 1))
    if problems:
        raise InputError(problems)
    return out


def merged(items: Sequence[Item], new: Mapping[str, list[Annotation]]) -> UpdateResult:
    """The items with the new annotations added (same annotator: the new label replaces theirs)."""
    result = UpdateResult([])
    for item in items:
        adding = new.get(item.id)
        if not adding:
            result.items.append(item)
            continue
        by_annotator = {a.annotator: a for a in item.annotations or ()}
        for a in adding:
            old = by_annotator.get(a.annotator)
            if old is None:
                result.added += 1
            elif old.label != a.label:
                result.replaced += 1
            by_annotator[a.annotator] = a
        result.items.append(item.model_copy(update={"annotations": list(by_annotator.values())}))
    return result


def update_labels(
    path: Path, shown: str, items: Sequence[Item], columns: LabelColumns, labels: Sequence[str]
) -> UpdateResult:
    rows = list(read_rows(path, shown))
    result = merged(items, read_labels(rows, shown, columns, labels, {i.id for i in items}))
    result.rows = len(rows)
    return result
