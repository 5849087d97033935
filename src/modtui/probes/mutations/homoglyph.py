"""`homoglyph`: Latin letters replaced by Cyrillic or Greek look-alikes (`paypal` → `раypаl`).

Each word of two or more letters gets one look-alike, or up to a third of its letters for longer words, so it
stays a mostly Latin word with a few foreign letters (the usual evasion) rather than a word of another script.
"""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words

LOOKALIKES = {
    "a": "\u0430",
    "c": "\u0441",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "x": "\u0445",
    "y": "\u0443",
    "i": "\u0456",
    "s": "\u0455",
    "j": "\u0458",
    "h": "\u04bb",
    "d": "\u0501",
    "w": "\u051d",
    "l": "\u04cf",
    "k": "\u03ba",
    "v": "\u03bd",
    "u": "\u03c5",
    "A": "\u0410",
    "B": "\u0412",
    "C": "\u0421",
    "E": "\u0415",
    "H": "\u041d",
    "I": "\u0406",
    "J": "\u0408",
    "K": "\u041a",
    "M": "\u041c",
    "O": "\u041e",
    "P": "\u0420",
    "S": "\u0405",
    "T": "\u0422",
    "X": "\u0425",
    "Y": "\u04ae",
}


def mutate(text: str, rng: random.Random) -> str:
    chosen = [w for w in words(text, min_length=2) if _swappable(w.text)]
    return rewrite(text, chosen, lambda word: _swap(word, rng))


def _swappable(word: str) -> bool:
    return any(c in LOOKALIKES for c in word) and sum(c.isascii() for c in word) >= 2


def _swap(word: Word, rng: random.Random) -> str:
    letters = list(word.text)
    candidates = [i for i, c in enumerate(letters) if c in LOOKALIKES]
    latin = sum(c.isascii() for c in letters)
    count = rng.randint(1, max(1, min(len(candidates), latin // 3)))
    for i in rng.sample(candidates, count):
        letters[i] = LOOKALIKES[letters[i]]
    return "".join(letters)
