"""`leet`: a→4, e→3, i→1, o→0, s→5 inside words (never the first or last letter: `proud` → `pr0ud`).

The word keeps letters at both ends, so it still reads as a word rather than a number or a model name
(`gpt4`), which is also what a leet-aware normaliser needs to undo it.
"""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words

LEET = str.maketrans(
    {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "A": "4", "E": "3", "I": "1", "O": "0", "S": "5"}
)


def mutate(text: str, rng: random.Random) -> str:
    return rewrite(text, words(text, min_length=3), _leet)


def _leet(word: Word) -> str:
    w = word.text
    return w[0] + w[1:-1].translate(LEET) + w[-1]
