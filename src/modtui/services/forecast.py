"""What a replay would cost before it runs (`replay --dry-run`), and each call's expected cost for the caps.

Expected tokens per call, for a target × prompt version:
- from the log: the mean input and output tokens of that target's calls with that prompt version (results not
  served from the cache), when there is at least one;
- else an estimate from the rendered prompt: one input token per CHARS_PER_TOKEN characters of the system and
  user messages, and OUTPUT_TOKENS_GUESS output tokens (a JSON verdict with a short rationale), never more than
  the target's max_tokens / max_completion_tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modtui.domain.target import Target
from modtui.prompts.render import Messages

if TYPE_CHECKING:
    from modtui.prompts.loader import LoadedPrompt
    from modtui.services.replay import ReplaySpec
    from modtui.workspace import Workspace

CHARS_PER_TOKEN = 4
OUTPUT_TOKENS_GUESS = 80


@dataclass(frozen=True, slots=True)
class TokenHistory:
    calls: int
    mean_in: float
    mean_out: float


def output_guess(target: Target) -> int:
    limit = target.params.get("max_completion_tokens") or target.params.get("max_tokens")
    return (
        min(OUTPUT_TOKENS_GUESS, int(limit)) if isinstance(limit, (int, float)) and limit > 0 else OUTPUT_TOKENS_GUESS
    )


def call_tokens(target: Target, messages: Messages, history: TokenHistory | None) -> tuple[float, float]:
    """Expected (input, output) tokens of one call."""
    if history is not None:
        return history.mean_in, history.mean_out
    return math.ceil((len(messages.system) + len(messages.user)) / CHARS_PER_TOKEN), output_guess(target)


def call_estimator(target: Target, history: TokenHistory | None) -> Callable[[Messages], float]:
    """A call's expected cost in USD at the target's live prices."""

    def estimate(messages: Messages) -> float:
        tokens_in, tokens_out = call_tokens(target, messages, history)
        return target.cost(round(tokens_in), round(tokens_out))

    return estimate


def histories(ws: Workspace, pairs: list[tuple[Target, LoadedPrompt]]) -> dict[tuple[str, str], TokenHistory]:
    """The log's token history of each target × prompt version that has one."""
    from modtui.store.runs import token_history

    out = {}
    with ws.store().connect() as session:
        for target, prompt in pairs:
            found = token_history(session, target.config_key(), prompt.version)
            if found is not None:
                out[(target.name, prompt.version)] = TokenHistory(*found)
    return out


def dry_run(ws: Workspace, spec: ReplaySpec) -> dict[str, Any]:
    """Per target × prompt: the calls the replay would make after what is recorded and cached, their expected
    tokens and cost (live and batch). Reads the log; writes nothing, calls nothing."""
    from modtui.services.replay import read_only_plan

    plan = read_only_plan(ws, spec)
    known = histories(ws, [(p.target, p.prompt) for p in plan])
    rows = []
    for p in plan:
        history = known.get((p.target.name, p.prompt.version))
        tokens_in = tokens_out = 0.0
        for messages in p.to_call:
            t_in, t_out = call_tokens(p.target, messages, history)
            tokens_in += t_in
            tokens_out += t_out
        calls = len(p.to_call) + p.repeat_calls
        if p.to_call and p.repeat_calls:  # repeats cost what a first call costs, on average
            tokens_in += tokens_in / len(p.to_call) * p.repeat_calls
            tokens_out += tokens_out / len(p.to_call) * p.repeat_calls
        elif p.repeat_calls and history is not None:
            tokens_in, tokens_out = history.mean_in * p.repeat_calls, history.mean_out * p.repeat_calls
        cost = p.target.cost(round(tokens_in), round(tokens_out))
        rows.append(
            {
                "target": p.target.name,
                "prompt": p.prompt.label,
                "prompt_version": p.prompt.version,
                "items": p.items,
                "recorded": p.recorded,
                "cached": p.cached,
                "calls": calls,
                "tokens_in": round(tokens_in),
                "tokens_out": round(tokens_out),
                "tokens_from": "log" if history is not None else "estimate",
                "cost_usd": cost,
                "batch_cost_usd": cost * p.target.batch_discount,
            }
        )
    return {
        "incident": spec.incident_id,
        "dry_run": True,
        "runs": rows,
        "calls": sum(r["calls"] for r in rows),
        "cost_usd": sum(r["cost_usd"] for r in rows),
        "batch_cost_usd": sum(r["batch_cost_usd"] for r in rows),
    }
