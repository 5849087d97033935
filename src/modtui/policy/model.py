"""Structured moderation policy: named rules and the exceptions that clear them.

This is the ``policy:`` block of a prompt file.  The models are pure pydantic (v2) with
``extra="forbid"`` so a typo in a prompt file is an error, not a silently ignored key.
Validators raise ``ValueError`` with a message that names the offending rule, term or
pattern; pydantic attaches the location (``rules.2.patterns.0`` ...) which the prompt
loader maps back to a YAML line.

Matching semantics (see :mod:`modtui.policy.classify`):

* ``terms`` are literal words or phrases.  They are normalised with the same
  :func:`modtui.policy.normalize.normalize` as the content and match as whole words; a space
  inside a term matches any run of spaces/dashes/dots/underscores (also none), and every
  letter tolerates being stretched ("love" matches "loove").
* ``patterns`` are Python regular expressions matched (case-insensitively) against the
  *normalised* content: lower-case, look-alikes folded to Latin, leetspeak undone inside
  words, spaced-out letters joined, runs of 3+ identical characters squeezed to 2.
"""

from __future__ import annotations

import re
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = ["Rule", "PolicyException", "Policy", "PATTERN_FLAGS"]

#: Flags every policy pattern is compiled with.
PATTERN_FLAGS = re.IGNORECASE | re.UNICODE


def _check_terms(terms: list[str]) -> list[str]:
    # Imported lazily: normalize builds its tables at import time and the model module
    # should stay cheap to import for code that only validates files.
    from modtui.policy.normalize import normalize

    for i, term in enumerate(terms):
        if not term.strip():
            raise ValueError(f"term #{i + 1} is empty")
        if not normalize(term):
            raise ValueError(f"term {term!r} is empty after normalisation")
    return terms


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        if not pattern.strip():
            raise ValueError("pattern is empty")
        try:
            compiled = re.compile(pattern, PATTERN_FLAGS)
        except re.error as exc:
            raise ValueError(f"invalid regex pattern {pattern!r}: {exc}") from None
        if compiled.search("") is not None:
            raise ValueError(f"pattern {pattern!r} matches the empty string, so it would match every item")
    return patterns


class _Matcher(BaseModel):
    """A named set of terms and patterns: what rules and exceptions have in common."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = "matcher"

    name: str
    terms: list[str] = []
    patterns: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(f"{cls.kind} name is empty")
        return v

    @field_validator("terms")
    @classmethod
    def _terms(cls, v: list[str]) -> list[str]:
        return _check_terms(v)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        return _check_patterns(v)

    @model_validator(mode="after")
    def _has_matcher(self) -> Self:
        if not self.terms and not self.patterns:
            raise ValueError(f"{self.kind} {self.name!r} needs at least one term or pattern")
        return self


class Rule(_Matcher):
    """A named signal: if any term or pattern matches, the rule fires and votes for its label."""

    kind: ClassVar[str] = "rule"

    label: str | None = None
    """Label this rule assigns; ``None`` means the policy's positive label."""
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    description: str = ""

    @field_validator("label")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("label is empty (omit it to use the positive label)")
        return v


class PolicyException(_Matcher):
    """A named context that clears rules: if it matches, the rules it names do not count."""

    kind: ClassVar[str] = "exception"

    clears: list[str] = []
    """Names of the rules this exception clears; empty means every rule."""
    description: str = ""


class Policy(BaseModel):
    """Rules, exceptions and the label to use when no rule stands."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = []
    exceptions: list[PolicyException] = []
    default_label: str | None = None
    """Label when no rule stands; ``None`` means the first non-positive label."""
    positive_label: str | None = None
    """Overrides the prompt's positive label (first of its labels) for this policy."""

    @field_validator("rules")
    @classmethod
    def _unique_rules(cls, v: list[Rule]) -> list[Rule]:
        _unique([r.name for r in v], "rule")
        return v

    @field_validator("exceptions")
    @classmethod
    def _check_exceptions(cls, v: list[PolicyException], info: ValidationInfo) -> list[PolicyException]:
        _unique([e.name for e in v], "exception")
        rules = info.data.get("rules")
        if rules is None:  # the rules failed validation: that error is reported already
            return v
        names = {r.name for r in rules}
        for i, exc in enumerate(v):
            unknown = [n for n in exc.clears if n not in names]
            if unknown:
                known = ", ".join(sorted(names)) or "none"
                raise ValueError(
                    f"exception #{i + 1} {exc.name!r} clears unknown rule(s) "
                    f"{', '.join(repr(n) for n in unknown)} (rules: {known})"
                )
        return v

    # -- label resolution -------------------------------------------------------------

    def resolve_labels(
        self, labels: "list[str] | tuple[str, ...]", positive_label: str | None = None
    ) -> tuple[str, str]:
        """Return ``(positive, default)`` for the given prompt labels.

        The positive label is the policy's ``positive_label``, else ``positive_label`` (the
        prompt's own setting), else ``labels[0]``.  Raises ``ValueError`` when a label named in
        the policy (or ``positive_label``) is not one of ``labels``.
        """
        problems = self.label_problems(labels)
        if positive_label is not None and positive_label not in labels:
            problems.append(f"positive label {positive_label!r} is not one of the labels ({', '.join(labels)})")
        if problems:
            raise ValueError("; ".join(problems))
        positive = self.positive_label or positive_label or labels[0]
        if self.default_label is not None:
            default = self.default_label
        else:
            default = next((lab for lab in labels if lab != positive), positive)
        return positive, default

    def label_problems(self, labels: "list[str] | tuple[str, ...]") -> list[str]:
        """Every label the policy names that is not in ``labels`` (for loaders and linters)."""
        if not labels:
            return ["the prompt declares no labels"]
        allowed = set(labels)
        shown = ", ".join(labels)
        out: list[str] = []
        if self.positive_label is not None and self.positive_label not in allowed:
            out.append(f"positive_label {self.positive_label!r} is not one of the labels ({shown})")
        if self.default_label is not None and self.default_label not in allowed:
            out.append(f"default_label {self.default_label!r} is not one of the labels ({shown})")
        for rule in self.rules:
            if rule.label is not None and rule.label not in allowed:
                out.append(f"rule {rule.name!r} label {rule.label!r} is not one of the labels ({shown})")
        return out


def _unique(names: list[str], kind: str) -> None:
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise ValueError(f"duplicate {kind} name {n!r} ({kind}s #{seen[n] + 1} and #{i + 1})")
        seen[n] = i
