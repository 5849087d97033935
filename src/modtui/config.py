"""modtui.toml: named model targets and workspace settings. Keys are never here, only env var names."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from modtui.domain.incident import UNPRINTABLE_ID, printable_name, unprintable
from modtui.domain.target import OFFLINE_TARGET, Target, offline_target
from modtui.errors import ConfigError, Problem
from modtui.files.text import read_text
from modtui.files.validate import suggest
from modtui.providers.registry import PROVIDERS

CONFIG_FILE = "modtui.toml"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
DEFAULT_CATEGORIES = (
    "policy_gap",
    "prompt_ambiguity",
    "missing_context",
    "model_limitation",
    "label_error",
    "adversarial_evasion",
    "counter_speech_or_quote",
    "locale_or_language",
    "output_parsing",
    "infrastructure",
    "data_drift",
)
_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")


class WorkspaceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: str | None = None
    default_target: str | None = None
    categories: list[str] = list(DEFAULT_CATEGORIES)
    mask_severity_at_or_above: str | None = None
    mask_meta_tags: list[str] = []

    @field_validator("author")
    @classmethod
    def _author(cls, value: str | None) -> str | None:
        return None if value is None else printable_name(value)

    @field_validator("mask_severity_at_or_above")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in SEVERITIES:
            raise ValueError(f"'{value}' is not one of {', '.join(SEVERITIES)}")
        return value.upper() if value else None

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one root-cause category")
        return list(dict.fromkeys(value))


@dataclass
class Config:
    targets: dict[str, Target] = field(default_factory=lambda: {OFFLINE_TARGET: offline_target()})
    settings: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    path: Path | None = None


def load_config(path: Path, shown: str = CONFIG_FILE) -> Config:
    """Parse modtui.toml (absent → defaults); every problem is reported with its line."""
    if not path.exists():
        return Config()
    text = read_text(path, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python < 3.14 has no lineno/colno attributes: the position is only in the message
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = getattr(exc, "lineno", None) or (int(at.group(1)) if at else None)
        col = getattr(exc, "colno", None) or (int(at.group(2)) if at else None)
        message = re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", getattr(exc, "msg", str(exc)))
        raise ConfigError(Problem(shown, f"TOML syntax error: {message}", line, col)) from None
    lines = _line_index(text)
    problems: list[Problem] = []
    config = Config(path=path)
    for key in data:
        if key not in ("targets", "workspace"):
            problems.append(
                Problem(shown, f"unknown table '{key}'{suggest(key, ['targets', 'workspace'])}", lines.get((key,)))
            )
    settings = _settings(data.get("workspace", {}), shown, lines, problems)
    if settings:
        config.settings = settings
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        problems.append(
            Problem(shown, "targets must be a table of named targets, e.g. [targets.gpt-mini]", lines.get(("targets",)))
        )
        targets = {}
    for name, raw in targets.items():
        target = _target(name, raw, shown, lines, problems)
        if target:
            config.targets[name] = target
    default = config.settings.default_target
    if default is not None and default not in config.targets and default not in targets:
        problems.append(
            Problem(
                shown,
                f"workspace.default_target: no target '{default}'{suggest(default, config.targets)}; "
                f"configured: {', '.join(config.targets)}",
                lines.get(("workspace", "default_target")),
            )
        )
    if problems:
        raise ConfigError(problems)
    return config


def _settings(raw: Any, shown: str, lines: dict, problems: list[Problem]) -> WorkspaceSettings | None:
    try:
        return WorkspaceSettings.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_located(exc, ("workspace",), shown, lines, WorkspaceSettings))
        return None


def _target(name: str, raw: Any, shown: str, lines: dict, problems: list[Problem]) -> Target | None:
    table = ("targets", name)
    if unprintable(name):
        problems.append(Problem(shown, f"target name {name!r}: {UNPRINTABLE_ID}", lines.get(table)))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(shown, f"targets.{name} must be a table", lines.get(table)))
        return None
    provider = raw.get("provider")
    if provider is not None and provider not in PROVIDERS:
        problems.append(
            Problem(
                shown,
                f"targets.{name}.provider: unknown provider '{provider}'{suggest(provider, list(PROVIDERS))}; "
                f"expected one of {', '.join(PROVIDERS)}",
                lines.get(table + ("provider",)),
            )
        )
        return None
    if raw.get("api_key", None) is not None:
        problems.append(
            Problem(
                shown,
                f"targets.{name}.api_key: keys never go in modtui.toml; name the environment "
                f"variable with api_key_env instead",
                lines.get(table + ("api_key",)),
            )
        )
        return None
    secret = _secret_param(raw.get("params"))
    if secret is not None:
        problems.append(
            Problem(
                shown,
                f"targets.{name}.params.{'.'.join(secret)}: keys and credentials never go in "
                f"modtui.toml; name the environment variable with api_key_env instead",
                lines.get(table + ("params",) + secret[:1]) or lines.get(table + ("params",)),
            )
        )
        return None
    try:
        return Target.model_validate({"name": name, **raw})
    except ValidationError as exc:
        problems.extend(_located(exc, table, shown, lines, Target))
        return None


_SECRET_NAME = re.compile(r"api[_-]?key|authori[sz]ation|secret|password|access[_-]?token|bearer", re.IGNORECASE)


def _secret_param(params: Any, at: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path of a credential-like key anywhere in a target's params (they are logged), else None."""
    if not isinstance(params, dict):
        return None
    for key, value in params.items():
        if _SECRET_NAME.search(str(key)):
            return at + (str(key),)
        found = _secret_param(value, at + (str(key),))
        if found:
            return found
    return None


def _located(
    exc: ValidationError, table: tuple[str, ...], shown: str, lines: dict, model: type[BaseModel]
) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        dotted = ".".join(table + loc)
        line = lines.get(table + loc[:1]) or lines.get(table)
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{dotted}'{suggest(loc[-1], model.model_fields)}"
        elif error["type"] == "missing":
            message = f"missing required key '{dotted}'"
        else:
            message = f"{dotted}: {error['msg'].removeprefix('Value error, ')} (got {error.get('input')!r})"
        out.append(Problem(shown, message, line))
    return out


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Best-effort map of (table..., key) → line; tomllib keeps no positions."""
    index: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        keys = _header_keys(line) if line.lstrip().startswith("[") else ()
        if header or keys:
            table = keys or tuple(part.strip().strip("\"'") for part in header.group(1).split("."))  # type: ignore[union-attr]
            index.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            index.setdefault(table + (key.group(1).strip("\"'"),), number)
    return index


def _header_keys(line: str) -> tuple[str, ...]:
    """A table header's keys as TOML reads them (quoted keys with escapes included), or () when it is not one."""
    try:
        data = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return ()
    keys: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key, data = next(iter(data.items()))
        keys.append(key)
    return tuple(keys)
