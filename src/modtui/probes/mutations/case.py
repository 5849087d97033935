"""`case`: aLtErNaTiNg case across each word (the seed picks whether a word starts lower or upper)."""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words


def mutate(text: str, rng: random.Random) -> str:
    return rewrite(text, words(text, min_length=2), lambda word: _alternate(word, rng.random() < 0.5))


def _alternate(word: Word, upper_first: bool) -> str:
    return "".join(c.upper() if (i % 2 == 0) == upper_first else c.lower() for i, c in enumerate(word.text))
