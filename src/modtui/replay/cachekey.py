"""The response cache key: same target config + same rendered messages + same params → same reply."""

from __future__ import annotations

import hashlib
import json

from modtui.domain.target import Target
from modtui.prompts.render import Messages


def cache_key(target: Target, messages: Messages, schema: dict | None, *, target_key: str | None = None) -> str:
    """`target_key` is `target.config_key()` when the caller already has it (it costs a hash per call)."""
    payload = {
        "target": target_key or target.config_key(),
        "system": messages.system,
        "user": messages.user,
        "schema": schema if target.structured_output else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
