"""Providers by name. Each entry is imported only when first used, so `modtui --help` stays fast."""
from __future__ import annotations

import importlib

from modtui.errors import ProviderError
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
    return getattr(importlib.import_module(module_name), attr)
