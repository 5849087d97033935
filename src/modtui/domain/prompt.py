"""Prompt templates as written in prompts/<policy>/<name>.yaml."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modtui.policy.model import Policy

TEMPLATE_VARIABLES = frozenset({"content", "policy", "labels", "meta", "item_id", "precedents"})


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

    @field_validator("labels")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("labels must be unique")
        return value

    @model_validator(mode="after")
    def _labels_known(self) -> "PromptTemplate":
        if self.positive_label is not None and self.positive_label not in self.labels:
            raise ValueError(f"positive_label '{self.positive_label}' is not one of labels {self.labels}")
        unknown = [k for k in self.label_synonyms if k not in self.labels]
        if unknown:
            raise ValueError(f"label_synonyms names '{unknown[0]}', which is not one of labels {self.labels}")
        return self

    @property
    def positive(self) -> str:
        return self.positive_label or self.labels[0]
