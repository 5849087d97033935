"""Policy patterns matched in linear time where possible, and the check for patterns that backtrack.

A policy regex is untrusted input (anyone may edit a candidate prompt) matched against untrusted content, so a
pattern like ``\\b(\\w+\\s?)+ are (vermin|rats)\\b`` must not hang a replay on crafted text. Each pattern is
compiled twice — with Python's ``re`` (the semantics policies are written for) and with RE2 (``google-re2``, a
linear-time engine) — and matched:

* with RE2 when it compiles and the pattern can backtrack catastrophically (``backtracking_risk``): always;
* with RE2 when it compiles and the normalised text is ASCII, where both engines agree exactly (the normalised
  text has only single spaces for whitespace, and ``\\w``, ``\\b``, ``\\d`` and case folding mean the same);
* with ``re`` otherwise (non-ASCII text keeps Python's Unicode ``\\w`` and ``\\b``), and for a pattern RE2 cannot
  compile (look-arounds, back-references) — those are ``fallback`` patterns, which the offline target runs
  under a per-item time limit (providers.rules) so a hang becomes a typed ``timeout`` result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Pattern", "compile_pattern", "backtracking_risk", "policy_warnings"]

_UNBOUNDED = 8  # a repeat allowing more than this many copies counts as unbounded for the check


@dataclass(frozen=True, slots=True)
class Pattern:
    source: str
    python: re.Pattern[str]
    linear: Any  # the RE2 pattern, or None when RE2 cannot compile it
    risky: bool

    @property
    def fallback(self) -> bool:
        """Matched only by the backtracking engine: callers bound its time."""
        return self.linear is None

    def search(self, text: str, ascii_text: bool) -> str | None:
        engine = self.linear if self.linear is not None and (ascii_text or self.risky) else self.python
        m = engine.search(text)
        return None if m is None else m.group(0)


def compile_pattern(source: str, flags: int) -> Pattern:
    python = re.compile(source, flags)
    return Pattern(source, python, _linear(source, flags), backtracking_risk(source) is not None)


def _linear(source: str, flags: int) -> Any:
    try:
        import re2
    except ImportError:  # pragma: no cover - a dependency; without it every pattern is a fallback
        return None
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not flags & re.IGNORECASE
    try:
        return re2.compile(source, options)
    except re2.error:
        return None


def backtracking_risk(source: str) -> str | None:
    """Why ``source`` can take exponential time on crafted text (a repeated group that itself holds an unbounded
    repeat, such as ``(\\w+\\s?)+``), or None. A heuristic: it flags the classic shapes, not every slow pattern."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source)
    except Exception:  # noqa: BLE001 - an invalid pattern is reported by the model's own check
        return None
    found = _nested(list(parsed), inside=False)
    return f"a repeated group holds an unbounded repeat ({found})" if found else None


def _nested(items: list[Any], inside: bool) -> str | None:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, arg in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, body = arg
            unbounded = high is c.MAXREPEAT or high > _UNBOUNDED
            if unbounded and inside:
                return "nested quantifier"
            if unbounded and _has_repeat(list(body)):
                return "nested quantifier"
            found = _nested(list(body), inside or unbounded)
            if found:
                return found
        elif op is c.SUBPATTERN:
            found = _nested(list(arg[-1]), inside)
            if found:
                return found
        elif op is c.BRANCH:
            for branch in arg[1]:
                found = _nested(list(branch), inside)
                if found:
                    return found
    return None


def _has_repeat(items: list[Any]) -> bool:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, arg in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and (arg[1] is c.MAXREPEAT or arg[1] > _UNBOUNDED):
            return True
        if op is c.SUBPATTERN and _has_repeat(list(arg[-1])):
            return True
        if op is c.BRANCH and any(_has_repeat(list(b)) for b in arg[1]):
            return True
    return False


def policy_warnings(policy: Any) -> list[str]:
    """One line per pattern of `policy` (a policy.model.Policy) that can backtrack catastrophically, saying how
    modtui matches it anyway."""
    out = []
    for kind, matchers in (("rule", policy.rules), ("exception", policy.exceptions)):
        for matcher in matchers:
            for source in matcher.patterns:
                risk = backtracking_risk(source)
                if risk is None:
                    continue
                how = (
                    "matched with RE2 (linear time)"
                    if _linear(source, re.IGNORECASE) is not None
                    else "RE2 cannot compile it, so it is matched under a per-item time limit"
                )
                out.append(
                    f"{kind} {matcher.name!r}: pattern {source!r} can backtrack catastrophically ({risk}); "
                    f"{how} — rewrite it without the nested repeat"
                )
    return out
