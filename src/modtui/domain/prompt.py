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

    @property
    def positive(self) -> str:
        return self.positive_label or self.labels[0]
