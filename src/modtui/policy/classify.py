"""The offline rules classifier: apply a :class:`~modtui.policy.model.Policy` to one text.

Semantics, in order:

1. The content is normalised (:func:`modtui.policy.normalize.normalize`).
2. Every rule with at least one matching term or pattern **fires**; the first match (the
   leftmost term match, else the first pattern that matches) is kept as evidence.
3. Every exception with a match **clears** the fired rules it names (all rules when its
   ``clears`` is empty).  Rules left are the **standing** rules.
4. The standing rules vote with their weights: the label with the largest total weight wins
   (ties go to the positive label, then to the order of ``labels``).  Confidence grows with the
   winner's margin over the runner-up: ``0.55 + 0.44 * (1 - 0.5 ** margin)``, so one rule of
   weight 1 gives 0.77, weight 2 gives 0.88, a tie gives 0.55.
5. No standing rule: the default label, with confidence 0.9 when nothing fired and 0.65 when
   rules fired but were all cleared.

The result is deterministic and carries a one-sentence rationale naming the rules, the text
they matched and the exceptions that cleared them.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

from modtui.policy.model import PATTERN_FLAGS, Policy
from modtui.policy.normalize import normalize
from modtui.policy.patterns import compile_pattern
from modtui.policy.version import CLASSIFIER_VERSION

__all__ = [
    "RuleVerdict",
    "CompiledPolicy",
    "compile_policy",
    "classify",
    "term_regex",
    "CONFIDENCE_NOTHING_FIRED",
    "CLASSIFIER_VERSION",
    "CONFIDENCE_ALL_CLEARED",
]

CONFIDENCE_NOTHING_FIRED = 0.9
CONFIDENCE_ALL_CLEARED = 0.65
_CONF_FLOOR = 0.55
_CONF_SPAN = 0.44  # floor + span = 0.99
_EVIDENCE_MAX = 40


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules classifier decided for one item, and why."""

    label: str
    confidence: float
    rationale: str
    fired: tuple[str, ...] = ()
    """Names of every rule that matched (standing or cleared), in policy order."""
    cleared: tuple[str, ...] = ()
    """Names of the fired rules an exception cleared."""
    exceptions: tuple[str, ...] = ()
    """Names of the exceptions that matched (whether or not they cleared a fired rule)."""
    evidence: tuple[tuple[str, str], ...] = field(default=())
    """``(rule or exception name, matched normalised text)`` for everything that matched."""

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "rationale": self.rationale,
            "fired": list(self.fired),
            "cleared": list(self.cleared),
            "exceptions": list(self.exceptions),
            "evidence": [list(e) for e in self.evidence],
        }


# -- compiling ------------------------------------------------------------------------------


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


def _elastic(word: str) -> str:
    """Regex for one normalised word: a doubled letter matches one or two of it."""
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        j = i
        while j < n and word[j] == ch:
            j += 1
        run = j - i
        esc = re.escape(ch)
        if ch.isalpha() and run >= 2:
            out.append(f"{esc}{{1,{run}}}")
        else:
            out.append(esc * run)
        i = j
    return "".join(out)


_LEFT = r"(?<![^\W_])"
_RIGHT = r"(?![^\W_])"


def _term_parts(term: str) -> tuple[str, str, str]:
    """``(left boundary, body, right boundary)`` of a term's regex."""
    norm = normalize(term)
    body = r"[\s\-_.]*".join(_elastic(w) for w in norm.split(" "))
    left = _LEFT if _is_word_char(norm[0]) else ""
    right = _RIGHT if _is_word_char(norm[-1]) else ""
    return left, body, right


def term_regex(term: str) -> str:
    """The regex a literal policy term compiles to (on normalised text).

    Whole words: the term may not be preceded or followed by a letter/digit (where the term
    itself starts/ends with one).  A space in the term matches any run of spaces, dashes,
    dots or underscores, or nothing ("free money" matches "freemoney", "free-money").
    """
    return "".join(_term_parts(term))


def _terms_regex(terms: Sequence[str]) -> str:
    """One regex for many terms; the boundaries are factored out of the alternation (much
    faster than a lookbehind per alternative)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for term in terms:
        left, body, right = _term_parts(term)
        bodies = groups.setdefault((left, right), [])
        if body not in bodies:
            bodies.append(body)
    return "|".join(f"{left}(?:{'|'.join(bodies)}){right}" for (left, right), bodies in groups.items())


def _needles(terms: Sequence[str]) -> tuple[str, ...] | None:
    """For each term, text any match of it must contain: its first normalised word up to the first letter of its
    first doubled letter (a doubled letter matches one or two: "free" → "fre", "skeevo" → "ske"). On ASCII text a
    term whose needle is absent cannot match, so most items skip the terms' regex (None: some needle is not
    ASCII, always run it)."""
    out = []
    for term in terms:
        first = normalize(term).split(" ")[0]
        doubled = re.search(r"([^\W\d_])\1", first)
        needle = first[: doubled.start() + 1] if doubled else first
        if not needle.isascii():
            return None
        out.append(needle)
    return tuple(dict.fromkeys(out))


_ASCII_LEFT = "(?:^|[^0-9A-Za-z])"  # _LEFT and _RIGHT on ASCII text, consuming the neighbour (RE2 has no look-around)
_ASCII_RIGHT = "(?:[^0-9A-Za-z]|$)"


def _screen_source(terms: Sequence[str], patterns: Sequence[str]) -> str | None:
    """An RE2 regex that matches ASCII text wherever a matcher's terms or patterns could match it (a superset), or
    None when there is none: a term that is not ASCII once normalised (Python's case folding then reaches past
    ASCII), or a pattern RE2 cannot compile (matched by backtracking only)."""
    parts = []
    for term in terms:
        left, body, right = _term_parts(term)
        if not normalize(term).isascii():
            return None
        parts.append((_ASCII_LEFT if left else "") + body + (_ASCII_RIGHT if right else ""))
    for source in patterns:
        if compile_pattern(source, PATTERN_FLAGS).linear is None:
            return None
        parts.append(source)
    return "|".join(f"(?:{part})" for part in parts)


class _Screen:
    """One pass of RE2 over ASCII text for every rule and exception at once: which of them can match. On ASCII text
    RE2 and Python's re agree (see policy.patterns; the term regexes' look-arounds become consuming classes, which
    match wherever they do), so a matcher the screen rules out is never searched, and one it lets through is
    searched as before: the verdicts (evidence included) are the same, only cheaper. Entry 0 matches every text:
    when RE2 gives up (its DFA out of memory) the answer lacks it, and every matcher is searched."""

    __slots__ = ("_set", "_positions", "_always")

    def __init__(self, matchers: Sequence[_Matcher]) -> None:
        self._set: Any = None
        self._positions: list[int] = [-1]  # set entry → matcher position
        self._always = frozenset(i for i, m in enumerate(matchers) if m.screen_source is None)
        try:
            import re2
        except ImportError:  # pragma: no cover - a dependency; without it nothing is screened
            return
        options = re2.Options()
        options.log_errors = False
        options.case_sensitive = not PATTERN_FLAGS & re.IGNORECASE
        screen = re2.Set.SearchSet(options)
        always = set(self._always)
        try:
            if screen.Add("(?:)") != 0:
                return
            for position, matcher in enumerate(matchers):
                if matcher.screen_source is None:
                    continue
                try:
                    screen.Add(matcher.screen_source)
                except re2.error:  # RE2 cannot read it after all: searched every time
                    always.add(position)
                    continue
                self._positions.append(position)
            if len(self._positions) > 1:
                screen.Compile()
                self._set, self._always = screen, frozenset(always)
        except re2.error:  # the set does not compile (too big for RE2's memory budget): nothing is screened
            return

    def candidates(self, text: str) -> frozenset[int] | set[int] | None:
        """The positions of the matchers that may match ASCII `text`; None: search them all."""
        if self._set is None:
            return None
        entries = self._set.Match(text)
        if not entries or 0 not in entries:
            return None
        positions = self._positions
        return self._always.union(positions[e] for e in entries if e)


class _Matcher:
    """Terms (one alternation) + patterns (each on its own) of one rule or exception."""

    __slots__ = ("name", "_terms", "_needles", "_patterns", "screen_source")

    def __init__(self, name: str, terms: Sequence[str], patterns: Sequence[str]) -> None:
        self.name = name
        self.screen_source = _screen_source(terms, patterns)
        self._terms = re.compile(_terms_regex(terms), PATTERN_FLAGS) if terms else None
        self._needles = _needles(terms)
        self._patterns = tuple(compile_pattern(p, PATTERN_FLAGS) for p in patterns)

    @property
    def fallback(self) -> tuple[str, ...]:
        """The patterns only the backtracking engine can match (see policy.patterns)."""
        return tuple(p.source for p in self._patterns if p.fallback)

    def search(self, text: str, ascii_text: bool) -> str | None:
        """The matched text of the first match, or ``None``."""
        if self._terms is not None and (
            self._needles is None or not ascii_text or any(needle in text for needle in self._needles)
        ):
            m = self._terms.search(text)
            if m is not None:
                return m.group(0)
        for pat in self._patterns:
            hit = pat.search(text, ascii_text)
            if hit is not None:
                return hit
        return None


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    matcher: _Matcher
    label: str | None
    weight: float


@dataclass(frozen=True, slots=True)
class _CompiledException:
    matcher: _Matcher
    clears: frozenset[str] | None  # None = every rule


class CompiledPolicy:
    """A policy with its terms and patterns compiled; reusable and thread-safe (read-only)."""

    __slots__ = ("policy", "_rules", "_exceptions", "_labels_cache", "_screen", "__weakref__")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._rules = tuple(
            _CompiledRule(_Matcher(r.name, r.terms, r.patterns), r.label, r.weight) for r in policy.rules
        )
        self._exceptions = tuple(
            _CompiledException(_Matcher(e.name, e.terms, e.patterns), frozenset(e.clears) if e.clears else None)
            for e in policy.exceptions
        )
        self._labels_cache: dict[tuple[tuple[str, ...], str | None], tuple[str, str]] = {}
        self._screen = _Screen([r.matcher for r in self._rules] + [e.matcher for e in self._exceptions])

    @property
    def fallback_patterns(self) -> tuple[str, ...]:
        """Patterns RE2 cannot compile: matched by backtracking, so callers bound the time per item."""
        matchers = [r.matcher for r in self._rules] + [e.matcher for e in self._exceptions]
        return tuple(p for m in matchers for p in m.fallback)

    def resolve(self, labels: Sequence[str], positive_label: str | None) -> tuple[str, str]:
        key = (tuple(labels), positive_label)
        hit = self._labels_cache.get(key)
        if hit is None:
            hit = self.policy.resolve_labels(key[0], positive_label)
            self._labels_cache[key] = hit
        return hit

    def classify(self, content: str, labels: Sequence[str], *, positive_label: str | None = None) -> RuleVerdict:
        """See :func:`classify`."""
        positive, default = self.resolve(labels, positive_label)
        text = normalize(content)
        ascii_text = text.isascii()
        possible = self._screen.candidates(text) if ascii_text else None

        fired: list[tuple[str, str, str, float]] = []  # name, matched, label, weight
        for position, rule in enumerate(self._rules):
            if possible is not None and position not in possible:
                continue
            hit = rule.matcher.search(text, ascii_text)
            if hit is not None:
                fired.append((rule.matcher.name, hit, rule.label or positive, rule.weight))

        matched_exc: list[tuple[str, str, frozenset[str] | None]] = []
        if fired:
            for position, exc in enumerate(self._exceptions, start=len(self._rules)):
                if possible is not None and position not in possible:
                    continue
                hit = exc.matcher.search(text, ascii_text)
                if hit is not None:
                    matched_exc.append((exc.matcher.name, hit, exc.clears))
        # (exceptions are only evaluated when something fired: they cannot change anything
        # otherwise, and skipping them keeps clean items cheap)

        cleared_by: dict[str, tuple[str, str]] = {}
        for rule_name, _hit, _label, _w in fired:
            for exc_name, exc_hit, clears in matched_exc:
                if clears is None or rule_name in clears:
                    cleared_by[rule_name] = (exc_name, exc_hit)
                    break

        totals: dict[str, float] = {}
        for rule_name, _hit, label, weight in fired:
            if rule_name not in cleared_by:
                totals[label] = totals.get(label, 0.0) + weight

        if totals:
            order = [positive] + [lab for lab in labels if lab != positive]
            rank = {lab: i for i, lab in enumerate(order)}
            ranked = sorted(totals.items(), key=lambda kv: (-kv[1], rank.get(kv[0], len(rank))))
            label, top = ranked[0]
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            margin = top - runner_up
            confidence = _CONF_FLOOR + _CONF_SPAN * (1.0 - 0.5**margin)
        elif fired:
            label, confidence = default, CONFIDENCE_ALL_CLEARED
        else:
            label, confidence = default, CONFIDENCE_NOTHING_FIRED

        return RuleVerdict(
            label=label,
            confidence=round(confidence, 4),
            rationale=_rationale(fired, cleared_by, label, bool(totals)),
            fired=tuple(f[0] for f in fired),
            cleared=tuple(f[0] for f in fired if f[0] in cleared_by),
            exceptions=tuple(e[0] for e in matched_exc),
            evidence=tuple((f[0], f[1]) for f in fired) + tuple((e[0], e[1]) for e in matched_exc),
        )


def _quote(text: str) -> str:
    text = text.strip()
    if len(text) > _EVIDENCE_MAX:
        text = text[: _EVIDENCE_MAX - 3].rstrip() + "..."
    return f'"{text}"'


def _rationale(
    fired: list[tuple[str, str, str, float]],
    cleared_by: dict[str, tuple[str, str]],
    label: str,
    any_standing: bool,
) -> str:
    if not fired:
        return "no rule matched"
    parts: list[str] = []
    for name, hit, _lab, _w in fired:
        part = f"rule {name} matched {_quote(hit)}"
        if name in cleared_by:
            exc_name, exc_hit = cleared_by[name]
            part += f", cleared by exception {exc_name} ({_quote(exc_hit)})"
        parts.append(part)
    sentence = "; ".join(parts)
    if any_standing:
        return f"{sentence} → {label}"
    return f"{sentence}; no rule stands → {label}"


# -- cache + entry point ------------------------------------------------------------------

_CACHE: dict[int, tuple["weakref.ref[Policy]", CompiledPolicy]] = {}
_CACHE_MAX = 256


def compile_policy(policy: Policy | CompiledPolicy) -> CompiledPolicy:
    """Compile (or fetch from the identity cache) the matchers of ``policy``.

    The cache is keyed by object identity: treat a policy as immutable once classified, or
    call ``CompiledPolicy(policy)`` yourself after editing it.
    """
    if isinstance(policy, CompiledPolicy):
        return policy
    key = id(policy)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is policy:
        return hit[1]
    compiled = CompiledPolicy(policy)
    if len(_CACHE) >= _CACHE_MAX:
        for k in [k for k, (ref, _c) in _CACHE.items() if ref() is None] or list(_CACHE)[:32]:
            _CACHE.pop(k, None)
    _CACHE[key] = (weakref.ref(policy), compiled)
    return compiled


def classify(
    content: str,
    policy: Policy | CompiledPolicy,
    labels: Sequence[str],
    *,
    positive_label: str | None = None,
) -> RuleVerdict:
    """Classify ``content`` under ``policy``.

    ``labels`` are the prompt's labels.  The positive label (what a rule without ``label``
    votes for) is the policy's ``positive_label``, else ``positive_label`` given here (pass the
    prompt file's own ``positive_label``), else ``labels[0]``.  Raises ``ValueError`` if the
    policy names a label that is not in ``labels``.
    """
    return compile_policy(policy).classify(content, labels, positive_label=positive_label)
