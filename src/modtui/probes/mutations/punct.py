"""`punct`: one dot or dash inside each word of four letters or more (`scam` → `sc.am`, `vermin` → `ver-min`)."""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words

MIN_LETTERS = 4
MARKS = (".", "-")


def mutate(text: str, rng: random.Random) -> str:
    return rewrite(text, words(text, min_length=MIN_LETTERS), lambda word: _insert(word, rng))


def _insert(word: Word, rng: random.Random) -> str:
    at = rng.randint(1, len(word.text) - 1)
    return word.text[:at] + rng.choice(MARKS) + word.text[at:]
