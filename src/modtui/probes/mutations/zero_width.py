"""`zero_width`: zero-width space (U+200B) or non-joiner (U+200C) between the letters of each word."""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words

INVISIBLE = ("\u200b", "\u200c")


def mutate(text: str, rng: random.Random) -> str:
    return rewrite(text, words(text, min_length=2), lambda word: _split(word, rng))


def _split(word: Word, rng: random.Random) -> str:
    w = word.text
    cuts = set(rng.sample(range(1, len(w)), rng.randint(1, len(w) - 1)))
    return "".join((rng.choice(INVISIBLE) if i in cuts else "") + c for i, c in enumerate(w))
