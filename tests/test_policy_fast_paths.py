"""The offline classifier's fast paths give the answers of the slow ones (issue 18).

ASCII text is folded with regexes spelled with ASCII classes, and on ASCII text one RE2 pass (the screen) rules out
the rules and exceptions that cannot match. Both must be invisible in the verdicts: these tests compare each fast
path with the path it short-cuts, on random text built to hit the corners (leetspeak, spaced letters, stretched
letters, contacts, the policies' own terms and patterns' words), beside tests/test_offline_verdicts.py's
recorded 25,000-item corpus."""

from __future__ import annotations

import random

import pytest

import offline_corpus as corpus
from modtui.policy import normalize as norm
from modtui.policy.classify import CompiledPolicy, _Screen
from modtui.policy.model import Policy, Rule

ALPHABET = "abcdefgiklmnorstuvxyz ABCEFZ 0123456789 013457 @$|!'.-*_ :/#%&\"?,\t"
WORDS = ["free", "www.x.com", "http://a.b", "me@x.org", "@handle", "$50", "mp3", "f r e e", "c-a-s-h", "fr33"]


def _ascii_texts(rng: random.Random, n: int, words: list[str]) -> list[str]:
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 8)):
            if rng.random() < 0.5 and words:
                parts.append(rng.choice(words))
            else:
                parts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 9))))
        out.append(rng.choice(["", " ", "  ", "-", "."]).join(parts))
    return out


def test_ascii_folds_agree_with_the_unicode_folds_on_ascii_text() -> None:
    rng = random.Random(7)
    for text in _ascii_texts(rng, 20_000, WORDS):
        lowered = text.lower()
        assert norm._fold_words(lowered, norm._ASCII_FOLDS) == norm._fold_words(lowered, norm._UNICODE_FOLDS), text


def _policy_words(policy: Policy) -> list[str]:
    words = []
    for matcher in [*policy.rules, *policy.exceptions]:
        words += matcher.terms
        for pattern in matcher.patterns:  # the literal words of a pattern: "are vermin", "should be deported"...
            words += [w for w in pattern.replace("|", " ").replace("(", " ").replace(")", " ").split() if w.isalpha()]
    return words


def _unscreened(policy: Policy) -> CompiledPolicy:
    compiled = CompiledPolicy(policy)
    compiled._screen = _Screen([])  # nothing screened: every rule and exception searched, as before the screen
    return compiled


@pytest.mark.parametrize("prompt", corpus.PROMPTS)
def test_the_screen_never_changes_a_verdict(prompt: str) -> None:
    policy, labels, positive = corpus._prompt(prompt)
    assert isinstance(policy, Policy)
    screened, plain = CompiledPolicy(policy), _unscreened(policy)
    assert screened._screen._set is not None, "the sample policies are screened"
    rng = random.Random(prompt)
    texts = _ascii_texts(rng, 4_000, _policy_words(policy) + WORDS)
    fired = 0
    for text in texts:
        got, want = (
            screened.classify(text, labels, positive_label=positive),
            plain.classify(text, labels, positive_label=positive),
        )
        assert got == want, text
        fired += bool(want.fired)
    assert fired > 200, "the texts reach the rules"


def test_a_matcher_re2_cannot_read_is_always_searched() -> None:
    policy = Policy(
        rules=[
            Rule(name="lookbehind", patterns=[r"(?<=buy )now"]),  # RE2 has no look-behind: not screened
            Rule(name="plain", terms=["cash"]),
        ]
    )
    compiled = CompiledPolicy(policy)
    assert compiled.classify("buy now", ["violating", "ok"]).fired == ("lookbehind",)
    assert compiled._screen.candidates("nothing here") == {0}


def test_the_screen_gives_way_when_re2_gives_up() -> None:
    compiled = CompiledPolicy(Policy(rules=[Rule(name="plain", terms=["cash"])]))

    class OutOfMemory:  # RE2::Set::Match answers no entry at all when its DFA runs out of memory
        def Match(self, _text: bytes) -> list[int]:
            return []

    compiled._screen._set = OutOfMemory()
    assert compiled._screen.candidates("send cash") is None
    assert compiled.classify("send cash", ["violating", "ok"]).fired == ("plain",)
