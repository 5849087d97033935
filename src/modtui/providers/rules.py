"""The offline rules baseline: applies the prompt's structured policy block directly. Not an LLM."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from modtui.domain.prompt import PromptTemplate
from modtui.domain.verdict import ErrorType
from modtui.policy.model import Policy
from modtui.policy.version import CLASSIFIER_VERSION
from modtui.providers.base import PlainVerdict, Provider, Reply, Request, plain_reply

if TYPE_CHECKING:  # the classifier loads where items are decided (a worker, or here): not to read its version
    from modtui.policy.classify import CompiledPolicy, RuleVerdict

_EMPTY = Policy()
_NO_POLICY = "prompt has no policy: block; "
PATTERN_SECONDS = 1.0  # per item, when the policy has patterns only the backtracking engine can match


class _PatternTimeout(Exception):
    pass


class RulesProvider(Provider):
    name = "rules"
    needs_key = False
    cacheable = False  # deterministic and instant; the policy, not the messages, decides
    local = True  # the engine classifies slices of items in this process (Engine._local_pool)
    deterministic_version = CLASSIFIER_VERSION

    async def complete(self, request: Request) -> Reply:
        return self.decide_many(request.template, [request.content])[0]

    def decide_many(self, template: PromptTemplate, contents: Sequence[str]) -> list[Reply]:
        """The verdict (label, confidence, rationale, cited rules) of each content; no reply text: the verdict is
        the whole answer, and its columns hold it."""
        return [
            reply if isinstance(reply, Reply) else plain_reply(reply) for reply in self.decide_plain(template, contents)
        ]

    def decide_plain(self, template: PromptTemplate, contents: Sequence[str]) -> list[Reply | PlainVerdict]:
        """`decide_many` with each verdict as a PlainVerdict tuple (a timeout or a policy that cannot be used: a
        Reply), as a worker sends it back: no Reply or Verdict built for the ~25,000 verdicts of a big replay."""
        policy = template.policy or _EMPTY
        compiled = _compiled(policy)
        labels, positive = template.labels, template.positive_label
        try:
            compiled.resolve(labels, positive)
        except ValueError as exc:
            return [Reply(error_type=ErrorType.BAD_REQUEST, error=f"policy: {exc}")] * len(contents)
        prefix = "" if template.policy else _NO_POLICY
        bounded = compiled.fallback_patterns
        out: list[Reply | PlainVerdict] = []
        clock = time.perf_counter
        for content in contents:
            started = clock()
            if bounded:
                try:
                    with _time_limit(PATTERN_SECONDS):
                        decided = compiled.classify(content, labels, positive_label=positive)
                except _PatternTimeout:
                    out.append(
                        Reply(
                            error_type=ErrorType.TIMEOUT,
                            latency_ms=(clock() - started) * 1000,
                            error=(
                                f"the policy took over {PATTERN_SECONDS:g} s on this item: a pattern RE2 cannot compile "
                                f"backtracks ({', '.join(repr(p) for p in bounded)}); rewrite it without look-arounds or "
                                "back-references so it is matched in linear time"
                            ),
                        )
                    )
                    continue
            else:
                decided = compiled.classify(content, labels, positive_label=positive)
            rules = cited(decided, policy)
            out.append(
                (decided.label, decided.confidence, prefix + decided.rationale, rules, (clock() - started) * 1000)
            )
        return out


_BY_SOURCE: dict[str, CompiledPolicy] = {}  # a policy's JSON → its compiled form, for this process's replays


def _compiled(policy: Policy) -> CompiledPolicy:
    """The compiled policy, by its content: a worker process receives a new copy of the template with every slice
    (replay.workers), and compiling it again for each slice would cost more than deciding the slice."""
    source = policy.model_dump_json()
    compiled = _BY_SOURCE.get(source)
    if compiled is None:
        from modtui.policy.classify import compile_policy

        if len(_BY_SOURCE) >= 32:
            _BY_SOURCE.clear()
        compiled = _BY_SOURCE[source] = compile_policy(policy)
    return compiled


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _PatternTimeout in this block after `seconds` (Python's regex engine checks signals while it
    backtracks). Only the main thread receives signals: elsewhere the block runs unbounded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum: int, _frame: object) -> None:
        raise _PatternTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cited(decided: RuleVerdict, policy: Policy) -> tuple[str, ...]:
    """The rules a verdict applied: every rule that fired, then every exception that cleared one of them."""
    if not decided.fired:
        return ()
    fired = set(decided.fired)
    clearing = [
        e.name
        for e in policy.exceptions
        if e.name in decided.exceptions and (fired & set(e.clears) if e.clears else fired)
    ]
    return tuple(dict.fromkeys([*decided.fired, *clearing]))
