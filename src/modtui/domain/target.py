"""A named model target from modtui.toml: provider, model, limits, prices. Never a key."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OFFLINE_TARGET = "offline"


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # an infinite price, cap or timeout is a typo

    name: str
    provider: str
    model: str = ""
    api_key_env: str | None = None
    base_url: str | None = None
    concurrency: int = Field(default=8, ge=1, le=1024)
    requests_per_minute: float | None = Field(default=None, gt=0)
    price_in_per_mtok: float = Field(default=0.0, ge=0)
    price_out_per_mtok: float = Field(default=0.0, ge=0)
    # prompt-cache prices (Anthropic cache writes / reads, OpenAI cached input); unset: the input price
    price_cache_write_per_mtok: float | None = Field(default=None, ge=0)
    price_cache_read_per_mtok: float | None = Field(default=None, ge=0)
    batch_discount: float = Field(default=0.5, ge=0, le=1)  # `replay --batch` costs: prices × this (Batch APIs: half)
    max_cost_per_run: float | None = Field(default=None, gt=0)  # USD: a run stops scheduling calls past it
    max_retries: int = Field(default=2, ge=0, le=20)
    timeout: float = Field(default=60.0, gt=0)
    structured_output: bool = False
    params: dict[str, Any] = {}

    def config_key(self) -> str:
        """Identity of everything that shapes a reply (no key, no limits): the cache's target part."""
        shape = {
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "structured_output": self.structured_output,
            "params": self.params,
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def cost(self, tokens_in: int, tokens_out: int, cache_read: int = 0, cache_write: int = 0) -> float:
        """USD for one call; `tokens_in` includes the prompt tokens read from and written to the provider's cache."""
        read_price = (
            self.price_in_per_mtok if self.price_cache_read_per_mtok is None else self.price_cache_read_per_mtok
        )
        write_price = (
            self.price_in_per_mtok if self.price_cache_write_per_mtok is None else self.price_cache_write_per_mtok
        )
        plain = max(0, tokens_in - cache_read - cache_write)
        return (
            plain * self.price_in_per_mtok
            + cache_read * read_price
            + cache_write * write_price
            + tokens_out * self.price_out_per_mtok
        ) / 1_000_000

    def batch_priced(self) -> "Target":
        """This target with its prices × batch_discount: what a call through the provider's Batch API costs."""
        scaled = {
            name: getattr(self, name) * self.batch_discount
            for name in (
                "price_in_per_mtok",
                "price_out_per_mtok",
                "price_cache_write_per_mtok",
                "price_cache_read_per_mtok",
            )
            if getattr(self, name) is not None
        }
        return self.model_copy(update=scaled)


def offline_target() -> Target:
    """The built-in offline rules baseline: no key, no network, no download."""
    return Target(name=OFFLINE_TARGET, provider="rules", model="rules-baseline", concurrency=4)
