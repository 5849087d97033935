"""Turn pydantic validation errors into located problems with readable, actionable messages."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from modtui.errors import Problem
from modtui.files.yaml import KeyPath, Located

M = TypeVar("M", bound=BaseModel)


def suggest(name: str, choices: Any) -> str:
    """' (did you mean 'x'?)' when a choice is close to `name` (ignoring case), else ''."""
    folded = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(name).lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean '{folded[close[0]]}'?)" if close else ""


def _fields_at(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The field names valid at `loc` inside `model`, following nested models where possible."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        info = getattr(current, "model_fields", {}).get(part)
        current = _inner_model(info.annotation) if info else None
    return list(getattr(current, "model_fields", {}) or [])


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found:
            return found
    return None


def _dotted(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clipped(text: str, limit: int = 60) -> str:
    """A value quoted from a file, cut: a message names what is wrong, it does not reprint the file."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_for(error: Mapping[str, Any], model: type[BaseModel], doc: Located, base: KeyPath = ()) -> Problem:
    loc: KeyPath = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    full = base + loc
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        hint = suggest(name, _fields_at(model, loc[:-1]))
        return doc.problem(full, f"unknown field '{_clipped(_dotted(loc))}'{hint}", key=True)
    if kind == "missing":
        return doc.problem(full[:-1], f"missing required field '{_dotted(loc)}'", key=True)
    message = error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    if kind not in ("value_error", "assertion_error") and not isinstance(got, (dict, list)):
        message += f" (got {_clipped(repr(got))})"  # the offending value, unless our own message names it already
        if isinstance(got, bool) and kind == "string_type":
            message += "; YAML reads yes/no/on/off/true/false as booleans: quote them to mean text"
    return doc.problem(full, f"{_dotted(loc)}: {message}" if loc else message)


def validate_model(
    model: type[M], doc: Located, data: Any = None, base: KeyPath = ()
) -> tuple[M | None, list[Problem]]:
    """Validate `data` (default: the whole document) as `model`; all problems at once."""
    payload = doc.data if data is None else data
    if not isinstance(payload, dict):
        return None, [doc.problem(base, f"expected a mapping of fields, got {type(payload).__name__}")]
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, [problem_for(e, model, doc, base) for e in exc.errors()]
