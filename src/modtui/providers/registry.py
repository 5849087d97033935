"""Providers by name: the one list (config validates targets against it). Each entry is imported only when first
used, so `modtui --help` and loading modtui.toml import no adapter and no SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from modtui.errors import ProviderError

if TYPE_CHECKING:
    from modtui.providers.base import Provider

PROVIDERS: dict[str, str] = {
    "openai": "modtui.providers.openai:OpenAIProvider",
    "anthropic": "modtui.providers.anthropic:AnthropicProvider",
    "rules": "modtui.providers.rules:RulesProvider",
}


def provider_class(name: str) -> type[Provider]:
    if name not in PROVIDERS:
        raise ProviderError(f"unknown provider '{name}'; known: {', '.join(PROVIDERS)}")
    module_name, _, attr = PROVIDERS[name].partition(":")
    return cast("type[Provider]", getattr(importlib.import_module(module_name), attr))
