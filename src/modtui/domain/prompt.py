"""Prompt templates as written in prompts/<policy>/<name>.yaml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from modtui.policy.model import Policy

TEMPLATE_VARIABLES = frozenset({"content", "policy", "labels", "meta", "item_id", "precedents"})


class PrecedentSettings(BaseModel):
    """How `{{ precedents }}` is filled: the `top` most similar labelled items of other incidents
    (of the same policy, or of any incident whose labels the prompt knows), scoring at least `min_score`."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(3, ge=1, le=20)
    min_score: float = Field(0.0, ge=0, le=100)
    scope: Literal["policy", "workspace"] = "policy"


OutputFormatName = Literal["json", "llama_guard", "shieldgemma", "gpt_oss_safeguard"]


class OutputFormat(BaseModel):
    """How to read the model's answer: a JSON verdict (the default) or a moderation model's own format.

    `llama_guard`: `safe`, or `unsafe` and a line of category codes (`S1,S10`). `shieldgemma`: `Yes` (the content
    violates the policy the prompt states) or `No`. `gpt_oss_safeguard`: reasoning, then a JSON verdict
    `{"violation": 0|1, "policy_category": ..., "rule_ids": [...]}` (a `label` key is read too). `categories` maps the
    model's category codes to the names recorded as the rules the verdict cites (unmapped codes are kept as given);
    for shieldgemma, whose answer names no category, a `Yes` cites every name listed there.
    """

    model_config = ConfigDict(extra="forbid")

    format: OutputFormatName = "json"
    unsafe_label: str | None = None  # default: the prompt's positive label
    safe_label: str | None = None  # default: the first other label
    categories: dict[str, str] = {}


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    labels: list[str] = Field(min_length=2)
    positive_label: str | None = None
    label_synonyms: dict[str, list[str]] = {}
    system: str = ""
    user: str = Field(min_length=1)
    output_schema: dict[str, Any] | None = None
    policy: Policy | None = None
    precedents: PrecedentSettings = PrecedentSettings()
    output: OutputFormat = OutputFormat()

    @field_validator("labels")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("labels must be unique")
        return value

    # field validators (not a model one) so errors are located on the offending field's line
    @field_validator("positive_label")
    @classmethod
    def _positive_known(cls, value: str | None, info: ValidationInfo) -> str | None:
        labels = info.data.get("labels")
        if value is not None and labels is not None and value not in labels:
            raise ValueError(f"'{value}' is not one of labels {labels}")
        return value

    @field_validator("label_synonyms")
    @classmethod
    def _synonyms_known(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        labels = info.data.get("labels")
        unknown = [k for k in value if labels is not None and k not in labels]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not one of labels {labels}")
        return value

    @field_validator("output")
    @classmethod
    def _output_labels_known(cls, value: OutputFormat, info: ValidationInfo) -> OutputFormat:
        labels = info.data.get("labels")
        for name in ("unsafe_label", "safe_label"):
            given = getattr(value, name)
            if given is not None and labels is not None and given not in labels:
                raise ValueError(f"{name} '{given}' is not one of labels {labels}")
        return value

    @property
    def positive(self) -> str:
        return self.positive_label or self.labels[0]

    @property
    def unsafe_label(self) -> str:
        return self.output.unsafe_label or self.positive

    @property
    def safe_label(self) -> str:
        unsafe = self.unsafe_label
        return self.output.safe_label or next(label for label in self.labels if label != unsafe)

    def rule_vocabulary(self) -> frozenset[str]:
        """The names a verdict may cite: the policy's rules and exceptions, and the guard categories' names."""
        names = set(self.output.categories.values())
        if self.policy is not None:
            names.update(rule.name for rule in self.policy.rules)
            names.update(exception.name for exception in self.policy.exceptions)
        return frozenset(names)
