"""`typo`: one letter of each long word (five letters or more) swapped for a key next to it on a QWERTY keyboard."""

from __future__ import annotations

import random

from modtui.probes.words import Word, rewrite, words

MIN_LETTERS = 5
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    where = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    out = {}
    for c, (r, i) in where.items():
        near = [
            row[j]
            for rr, row in enumerate(_ROWS)
            if abs(rr - r) <= 1
            for j in (i - 1, i, i + 1)
            if 0 <= j < len(row) and row[j] != c
        ]
        out[c] = "".join(near)
    return out


NEIGHBOURS = _neighbours()


def mutate(text: str, rng: random.Random) -> str:
    return rewrite(text, words(text, min_length=MIN_LETTERS), lambda word: _slip(word, rng))


def _slip(word: Word, rng: random.Random) -> str:
    letters = list(word.text)
    keys = [i for i, c in enumerate(letters) if c.lower() in NEIGHBOURS]
    if not keys:
        return word.text
    i = rng.choice(keys)
    new = rng.choice(NEIGHBOURS[letters[i].lower()])
    letters[i] = new.upper() if letters[i].isupper() else new
    return "".join(letters)
