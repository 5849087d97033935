"""How every output names a prompt (no pydantic here: `runs compare` names prompts without loading the models)."""

from __future__ import annotations

from pathlib import PurePath


def prompt_name(path: str) -> str:
    """How every output names a prompt: `policy/name` from its workspace path (`prompts/hate_speech/candidate.yaml`
    is `hate_speech/candidate`); a name that is not a path (`(unsaved candidate)`) stays as it is."""
    parts = PurePath(path).with_suffix("").parts if path.endswith((".yaml", ".yml")) else PurePath(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path
