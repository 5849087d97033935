"""Incidents and their items, as written in incidents/<ID>/incident.yaml and items.jsonl."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
UNPRINTABLE_ID = "must not contain control or formatting characters (escapes, bidi overrides, line breaks)"


def unprintable(value: str) -> bool:
    """True when text holds a character a terminal acts on or hides (control, format, line separators)."""
    # isprintable() is False for every such character (and for others we allow): a C-speed answer for most text
    return not value.isprintable() and any(unicodedata.category(c) in _UNPRINTABLE for c in value)


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Status(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class ItemKind(StrEnum):
    FALSE_POSITIVE = "false_positive"
    FALSE_NEGATIVE = "false_negative"
    GUARD = "guard"
    EVAL = "eval"


FAILING_KINDS = frozenset({ItemKind.FALSE_POSITIVE, ItemKind.FALSE_NEGATIVE})


def folder_name(value: str) -> str:
    """`value`, refused when it is a name Windows reserves (the workspace must check out everywhere)."""
    if value.split(".", 1)[0].upper() in RESERVED_NAMES:
        raise ValueError(f"'{value}' is a name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)")
    return value


def printable_name(value: str) -> str:
    """A name shown as it is (policy, label, model, target, author): refused when it holds a control character."""
    if unprintable(value):
        raise ValueError(UNPRINTABLE_ID)
    return value


class Production(BaseModel):
    """What production runs: a prompt file (workspace-relative) and a model or target name."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1)
    model: str = Field(min_length=1)

    @field_validator("prompt", "model")
    @classmethod
    def _printable(cls, value: str) -> str:
        return printable_name(value)

    @field_validator("prompt")
    @classmethod
    def _in_workspace(cls, value: str) -> str:
        # read as written (symlinks are followed where the file is opened, workspace.inside)
        parts = PurePosixPath(value.replace("\\", "/")).parts
        if value.startswith(("/", "~", "\\")) or ".." in parts or (len(value) > 1 and value[1] == ":"):
            raise ValueError(
                "resolves outside the workspace: give a path inside it, such as prompts/<policy>/production.yaml"
            )
        return value


class IncidentKind(StrEnum):
    ESCALATION = "escalation"  # the items are production's failures and a guard set
    SAMPLE = "sample"  # the items are a random sample of production traffic (see `population`)


DEFAULT_STRATUM = "all"  # the stratum of a sample item that names none


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    id: str
    title: str = Field(min_length=1)
    severity: Severity
    status: Status = Status.OPEN
    policy: str = Field(min_length=1)
    labels: list[str] = Field(min_length=2)
    positive_label: str
    production: Production
    opened_at: datetime | None = None
    reported_by: str | None = None
    description: str = ""
    tags: list[str] = []
    kind: IncidentKind = IncidentKind.ESCALATION
    # a sample's population size per stratum (a single number: one stratum, "all")
    population: dict[str, int] | None = None

    def headline(self) -> dict[str, str]:
        """The keys every face shows first for an incident (list rows, the handoff report)."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "status": self.status.value,
            "policy": self.policy,
        }

    @field_validator("population", mode="before")
    @classmethod
    def _population_map(cls, value: Any) -> Any:
        return {DEFAULT_STRATUM: value} if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("population")
    @classmethod
    def _population_sizes(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is not None and (not value or any(n < 1 for n in value.values())):
            raise ValueError("give each stratum's population size as a whole number of at least 1")
        return value

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (e.g. INC-0042)")
        return folder_name(value)

    @field_validator("policy")
    @classmethod
    def _policy_folder(cls, value: str) -> str:
        # a folder name under prompts/: never a path (`../../elsewhere` would be read and written outside)
        if not ID_PATTERN.match(value):
            raise ValueError("a folder name under prompts/: use letters, digits, '.', '_' or '-' (no '/' or '..')")
        return folder_name(value)

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, value: list[str]) -> list[str]:
        for label in value:
            printable_name(label)
        seen = [v for i, v in enumerate(value) if v in value[:i]]
        if seen:
            raise ValueError(f"label '{seen[0]}' is listed twice")
        return value

    @field_validator("positive_label")
    @classmethod
    def _positive_in_labels(cls, value: str, info: ValidationInfo) -> str:
        # a field validator (not a model one) so the error is located on the positive_label line
        labels = info.data.get("labels")
        if labels is not None and value not in labels:
            raise ValueError(f"'{value}' is not one of labels {labels}")
        return value


class Annotation(BaseModel):
    """One human label of an item: who gave it (a reviewer's name or id) and the label."""

    model_config = ConfigDict(extra="forbid")

    annotator: str = Field(min_length=1)
    label: str

    @field_validator("annotator")
    @classmethod
    def _annotator_printable(cls, value: str) -> str:
        if unprintable(value):
            raise ValueError(UNPRINTABLE_ID)
        return value


class Item(BaseModel):
    """One piece of content. `kind` is derived from expected vs observed when absent. `annotations`: the
    individual human labels the gold label came from, when the export has them (None: not recorded)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    content: str
    expected: str
    observed: str | None = None
    kind: ItemKind | None = None
    meta: dict[str, Any] = {}
    stratum: str | None = None  # a sample item's stratum (incident.yaml `population`)
    weight: float | None = Field(default=None, gt=0)  # a sample item's design weight (default 1)
    annotations: list[Annotation] | None = None

    def annotation_labels(self) -> dict[str, str]:
        """annotator → label."""
        return {a.annotator: a.label for a in self.annotations or ()}

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("id")
    @classmethod
    def _id_printable(cls, value: str) -> str:
        # ids are printed as they are in tables and lists; a terminal escape in one would act on the terminal
        if unprintable(value):
            raise ValueError(UNPRINTABLE_ID)
        return value


FEATURE_CHARS = 20_000  # what clusters, precedents and report previews read of one item's content


def feature_text(content: str) -> str:
    """The head of an item's content that per-item features read: their memory and time stay bounded per item
    (a 50 MB post costs what 20,000 characters cost), and near-duplicates and precedents are decided on it."""
    return content[:FEATURE_CHARS]


def derive_kind(expected: str, observed: str | None, positive: str) -> ItemKind:
    """The item's kind on the positive-vs-rest decision production made."""
    if observed is None:
        return ItemKind.EVAL
    if (expected == positive) == (observed == positive):
        return ItemKind.GUARD
    return ItemKind.FALSE_POSITIVE if observed == positive else ItemKind.FALSE_NEGATIVE
