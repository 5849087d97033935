"""The offline rules baseline: applies the prompt's structured policy block directly. Not an LLM."""
from __future__ import annotations

import json
import time

from modtui.domain.verdict import Outcome, Verdict
from modtui.policy.classify import RuleVerdict, classify
from modtui.policy.model import Policy
from modtui.providers.base import Provider, Reply, Request

_EMPTY = Policy()


class RulesProvider(Provider):
    name = "rules"
    needs_key = False
    cacheable = False  # deterministic and instant; the policy, not the messages, decides

    async def complete(self, request: Request) -> Reply:
        started = time.perf_counter()
        template = request.template
        try:
            decided = classify(request.content, template.policy or _EMPTY, template.labels,
                               positive_label=template.positive_label)
        except ValueError as exc:
            return Reply(error_type="bad_request", error=f"policy: {exc}").timed(started)
        rationale = decided.rationale if template.policy else "prompt has no policy: block; " + decided.rationale
        rules = cited(decided, template.policy or _EMPTY)
        verdict = Verdict(Outcome.LABEL, decided.label, decided.confidence, rationale, rules=rules)
        text = json.dumps({"label": decided.label, "confidence": decided.confidence, "rationale": rationale,
                           "rules": list(rules)}, ensure_ascii=False)
        return Reply(text=text, finish_reason="stop", verdict=verdict).timed(started)


def cited(decided: RuleVerdict, policy: Policy) -> tuple[str, ...]:
    """The rules a verdict applied: every rule that fired, then every exception that cleared one of them."""
    fired = set(decided.fired)
    clearing = [e.name for e in policy.exceptions
                if e.name in decided.exceptions and (fired & set(e.clears) if e.clears else fired)]
    return tuple(dict.fromkeys([*decided.fired, *clearing]))
