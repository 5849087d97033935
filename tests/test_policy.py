"""The pure policy core: normalisation, the rules classifier, validation, rendering."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from modtui.policy.classify import CompiledPolicy, RuleVerdict, classify, compile_policy, term_regex
from modtui.policy.model import Policy, PolicyException, Rule
from modtui.policy.normalize import normalize
from modtui.policy.render import render_policy

LABELS = ["violating", "non_violating"]


# -- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("FREE Money", "free money"),
        # fullwidth and mathematical alphanumerics (NFKC)
        ("ｆｒｅｅ ｍｏｎｅｙ", "free money"),
        ("𝐟𝐫𝐞𝐞 𝓂𝑜𝓃𝑒𝓎", "free money"),
        ("Ⓕⓡⓔⓔ", "free"),
        # Cyrillic / Greek look-alikes mixed into Latin words
        ("раураl", "paypal"),
        ("Ρlеаѕе сlаim", "please claim"),
        ("bitсoin", "bitcoin"),
        # an all-look-alike word inside an English sentence
        ("send сосо now", "send coco now"),
        # Latin small capitals and letter variants
        ("ᴀɪʀᴅʀᴏᴘ", "airdrop"),
        # zero-width characters, soft hyphen, bidi controls
        ("fr\u200bee mo\u200cn\u2060ey", "free money"),
        ("ca\u00adsh", "cash"),
        ("gro\u200dbnik", "grobnik"),
        # combining marks: accents, strike-through, zalgo
        ("café naïve", "cafe naive"),
        ("f̶r̶e̶e̶", "free"),
        ("z̴̢a̸l̷g̵o̶", "zalgo"),
        # leetspeak inside words
        ("fr33 m0ney", "free money"),
        ("b1tc0in", "bitcoin"),
        ("c4$h", "cash"),
        ("fr@ud", "fraud"),
        ("1nvest", "invest"),
        ("h3ll0 fr!ends!", "hello friends!"),
        # ... but numbers, prices, quantities, ordinals stay
        ("$50 in 24 hours", "$50 in 24 hours"),
        ("born 2026, 100mg, 3pm, 5th, 1st, 24h", "born 2026, 100mg, 3pm, 5th, 1st, 24h"),
        ("win $1000 now", "win $1000 now"),
        ("call 555-0142", "call 555-0142"),
        ("US$50 for a ps5 and an mp3 player, 1080p", "us$50 for a ps5 and an mp3 player, 1080p"),
        # spaced-out letters
        ("f r e e  m o n e y", "free money"),
        ("f.r.e.e", "free"),
        ("c-a-s-h", "cash"),
        ("C L A I M now", "claim now"),
        ("f r 3 3", "free"),
        ("1 2 3 go", "1 2 3 go"),
        ("e.g. this", "e.g. this"),
        # stretched letters: runs of 3+ squeeze to one, runs of two stay
        ("loooove yesssss", "love yes"),
        ("freeeee", "fre"),
        ("good feel", "good feel"),
        ("1000000", "1000000"),
        # whitespace
        ("  a\t\tbig \n\n day  ", "a big day"),
        # typographic quotes and dashes
        ("\u201cI\u2019ll find you\u201d \u2014 he said", '"i\'ll find you" - he said'),
        # emoji are kept (variation selectors dropped; ZWJ sequences kept)
        ("🚀🚀 to the moon ❤️", "🚀🚀 to the moon ❤"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_keeps_contacts_verbatim() -> None:
    text = "mail jo.reyes1@example.com or @cr4zy_d3als, see https://example.com/p4ge"
    assert normalize(text) == text.lower()


def test_normalize_leaves_real_cyrillic_and_greek_alone() -> None:
    assert normalize("Привет, мир") == "привет, мир"
    assert normalize("сор и все") == "сор и все"  # all look-alikes, but a Cyrillic text
    assert normalize("Καλημέρα") == "καλημερα"  # accents go, the letters stay Greek


def test_normalize_is_idempotent() -> None:
    for raw in ["Fr33 ｍｏｎｅｙ 🚀", "f r e e  c-a-s-h", "раураl 100mg", "As a proud grobnik!!"]:
        once = normalize(raw)
        assert normalize(once) == once


# -- rules and exceptions -------------------------------------------------------------------


def _policy(**kw) -> Policy:
    return Policy.model_validate(kw)


HATE = _policy(
    rules=[
        {"name": "slur_use", "terms": ["grobnik", "grobniks"], "weight": 2.0},
        {"name": "dehumanising_comparison", "patterns": [r"\b(are|like) (vermin|rats)\b"], "weight": 2.0},
        {"name": "positive_context", "label": "non_violating", "terms": ["love you all"], "weight": 1.0},
    ],
    exceptions=[
        {"name": "in_group_reclaimed", "patterns": [r"\bas a proud \w+"], "clears": ["slur_use"]},
        {"name": "quoted_condemnation", "terms": ["is disgusting"]},
    ],
)


def test_nothing_fired_gives_default_with_high_confidence() -> None:
    v = classify("lovely weather today", HATE, LABELS)
    assert v == RuleVerdict("non_violating", 0.9, "no rule matched")


def test_rule_fires_on_normalised_text_and_whole_words() -> None:
    v = classify("those GR0BN1KS again", HATE, LABELS)
    assert v.label == "violating"
    assert v.fired == ("slur_use",)
    assert v.evidence == (("slur_use", "grobniks"),)
    # whole words only
    assert classify("grobnikland is a place", HATE, LABELS).fired == ()


def test_exception_clears_named_rule_only() -> None:
    v = classify("As a proud grobnik I say hi", HATE, LABELS)
    assert v.label == "non_violating"
    assert v.fired == ("slur_use",)
    assert v.cleared == ("slur_use",)
    assert v.exceptions == ("in_group_reclaimed",)
    assert 0.6 <= v.confidence <= 0.7
    assert v.rationale == (
        'rule slur_use matched "grobnik", cleared by exception in_group_reclaimed '
        '("as a proud grobnik"); no rule stands → non_violating'
    )
    # the exception does not clear the dehumanising rule
    v = classify("as a proud man: they are vermin, grobnik", HATE, LABELS)
    assert v.label == "violating"
    assert v.cleared == ("slur_use",)
    assert "dehumanising_comparison" in v.fired


def test_exception_with_empty_clears_clears_everything() -> None:
    v = classify('"they are vermin, grobniks" is disgusting', HATE, LABELS)
    assert v.label == "non_violating"
    assert set(v.cleared) == {"slur_use", "dehumanising_comparison"}


def test_weights_decide_between_labels_and_confidence_grows() -> None:
    one = classify("grobnik", HATE, LABELS)
    two = classify("grobnik, they are like rats", HATE, LABELS)
    assert one.label == two.label == "violating"
    assert 0.55 <= one.confidence < two.confidence <= 0.99
    # a non-positive rule votes against: 2 (slur) vs 1 (positive context)
    mixed = classify("grobnik ... love you all", HATE, LABELS)
    assert mixed.label == "violating"
    assert mixed.confidence < one.confidence
    # the counter-rule alone wins for its own label
    assert classify("love you all", HATE, LABELS).label == "non_violating"


def test_tie_goes_to_positive_label() -> None:
    p = _policy(
        rules=[
            {"name": "a", "terms": ["alpha"]},
            {"name": "b", "label": "non_violating", "terms": ["beta"]},
        ]
    )
    v = classify("alpha beta", p, LABELS)
    assert v.label == "violating"
    assert v.confidence == 0.55


def test_rule_label_and_default_label_and_positive_label() -> None:
    labels = ["spam", "not_spam", "needs_review"]
    p = _policy(
        rules=[
            {"name": "spam_terms", "terms": ["free money"]},
            {"name": "borderline", "label": "needs_review", "terms": ["giveaway"]},
        ],
        default_label="not_spam",
    )
    assert classify("f r e e  m o n e y", p, labels).label == "spam"
    assert classify("weekly giveaway!", p, labels).label == "needs_review"
    assert classify("hello", p, labels).label == "not_spam"
    # positive label from the prompt when labels are not in positive-first order
    q = _policy(rules=[{"name": "r", "terms": ["scam"]}])
    assert classify("scam", q, ["ok", "spam"], positive_label="spam").label == "spam"
    assert classify("fine", q, ["ok", "spam"], positive_label="spam").label == "ok"
    # the policy's own positive_label wins
    r = _policy(rules=[{"name": "r", "terms": ["scam"]}], positive_label="spam")
    assert classify("scam", r, ["ok", "spam"]).label == "spam"


def test_unknown_label_is_an_error() -> None:
    p = _policy(rules=[{"name": "r", "label": "bogus", "terms": ["x"]}])
    with pytest.raises(ValueError, match="bogus"):
        classify("x", p, LABELS)
    assert p.label_problems(LABELS) == ["rule 'r' label 'bogus' is not one of the labels (violating, non_violating)"]


def test_terms_are_elastic_and_span_separators() -> None:
    p = _policy(rules=[{"name": "r", "terms": ["free money", "kill", "🚀"]}])
    for text in ["freemoney", "free-money", "FREE   MONEY", "fr33 m0n3y", "freeeee money"]:
        assert classify(text, p, LABELS).label == "violating", text
    assert classify("i will killlll", p, LABELS).fired == ("r",)
    assert classify("to the moon🚀", p, LABELS).fired == ("r",)
    assert classify("freedom moneyball", p, LABELS).fired == ()
    assert term_regex("kill") == r"(?<![^\W_])kil{1,2}(?![^\W_])"


def test_patterns_match_normalised_text() -> None:
    p = _policy(rules=[{"name": "usdt", "patterns": [r"\busdt\s+airdrop"]}])
    assert classify("Ｃlaim your U S D T  a1rdr0p", p, LABELS).label == "violating"


def test_rationale_lists_standing_and_cleared_rules() -> None:
    v = classify("as a proud one: grobniks are like rats", HATE, LABELS)
    assert v.rationale == (
        'rule slur_use matched "grobniks", cleared by exception in_group_reclaimed '
        '("as a proud one"); rule dehumanising_comparison matched "like rats" → violating'
    )
    long = classify("as a proud " + "abcde" * 16 + " grobnik", HATE, LABELS)
    assert '..."' in long.rationale


def test_deterministic_and_cached() -> None:
    a = classify("grobnik", HATE, LABELS)
    b = classify("grobnik", HATE, LABELS)
    assert a == b
    assert compile_policy(HATE) is compile_policy(HATE)
    compiled = CompiledPolicy(HATE)
    assert classify("grobnik", compiled, LABELS) == a
    assert a.to_dict()["fired"] == ["slur_use"]


# -- validation ----------------------------------------------------------------------------


def _error(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        Policy.model_validate(data)
    return str(info.value)


def test_validation_rule_needs_term_or_pattern() -> None:
    assert "rule 'r' needs at least one term or pattern" in _error({"rules": [{"name": "r"}]})


def test_validation_bad_regex_names_the_pattern() -> None:
    msg = _error({"rules": [{"name": "r", "patterns": ["ok", "(unclosed"]}]})
    assert "invalid regex pattern '(unclosed'" in msg
    assert "rules.0.patterns" in msg


def test_validation_empty_matching_pattern_and_blank_term() -> None:
    assert "matches the empty string" in _error({"rules": [{"name": "r", "patterns": ["a*"]}]})
    assert "empty" in _error({"rules": [{"name": "r", "terms": ["  "]}]})


def test_validation_unique_names_and_clears() -> None:
    assert "duplicate rule name 'r'" in _error(
        {"rules": [{"name": "r", "terms": ["a"]}, {"name": "r", "terms": ["b"]}]}
    )
    assert "duplicate exception name 'e'" in _error(
        {
            "rules": [{"name": "r", "terms": ["a"]}],
            "exceptions": [{"name": "e", "terms": ["x"]}, {"name": "e", "terms": ["y"]}],
        }
    )
    msg = _error(
        {
            "rules": [{"name": "r", "terms": ["a"]}],
            "exceptions": [{"name": "e", "terms": ["x"], "clears": ["r", "nope"]}],
        }
    )
    assert "exception #1 'e' clears unknown rule(s) 'nope' (rules: r)" in msg


def test_validation_weight_and_extra_fields() -> None:
    assert "weight" in _error({"rules": [{"name": "r", "terms": ["a"], "weight": 0}]})
    assert "weight" in _error({"rules": [{"name": "r", "terms": ["a"], "weight": float("inf")}]})
    assert "extra" in _error({"rules": [{"name": "r", "terms": ["a"], "colour": "red"}]}).lower()
    assert "extra" in _error({"rulez": []}).lower()


def test_models_construct_directly() -> None:
    p = Policy(
        rules=[Rule(name="r", terms=["a"])],
        exceptions=[PolicyException(name="e", terms=["b"], clears=["r"])],
    )
    assert classify("a b", p, LABELS).label == "non_violating"


# -- rendering -----------------------------------------------------------------------------


def test_render_policy_is_readable() -> None:
    text = render_policy(
        _policy(
            rules=[
                {
                    "name": "slur_use",
                    "terms": [f"t{i}" for i in range(15)],
                    "weight": 2,
                    "description": "Uses a slur against a protected group.",
                    "patterns": [r"\bx\b"],
                },
                {"name": "allowed", "label": "non_violating", "terms": ["ok"]},
            ],
            exceptions=[
                {
                    "name": "in_group_reclaimed",
                    "clears": ["slur_use"],
                    "terms": ["as a proud"],
                    "description": "The speaker reclaims a term about their own group.",
                }
            ],
        ),
        LABELS,
    )
    assert "1. slur_use -> violating (weight 2)" in text
    assert "Uses a slur against a protected group." in text
    assert '"t0"' in text and "and 3 more" in text
    assert "2. allowed -> non_violating" in text
    assert "in_group_reclaimed (overrides: slur_use)" in text
    assert "the label is non_violating" in text
    assert r"\bx\b" not in text  # regexes are left out by default
    # the prompt's positive label when labels are not positive-first
    other = render_policy(_policy(rules=[{"name": "r", "terms": ["a"]}]), ["ok", "spam"], positive_label="spam")
    assert "1. r -> spam" in other and "the label is ok" in other
    # without labels it still renders
    assert "the positive label" in render_policy(_policy(rules=[{"name": "r", "terms": ["a"]}]))


# -- purity --------------------------------------------------------------------------------


def test_policy_package_imports_nothing_heavy() -> None:
    code = (
        "import sys, modtui.policy.classify, modtui.policy.render;"
        "bad = [m for m in ('textual', 'sqlmodel', 'sqlalchemy', 'openai', 'anthropic', 'jinja2')"
        " if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
