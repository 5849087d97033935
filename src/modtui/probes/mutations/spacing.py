"""`spacing`: the words that carry the meaning (four letters or more) spelt out, `vermin` → `v e r m i n`.

A spaced word is set off by two spaces, so neighbouring spaced words stay apart (`f r e e  m o n e y`). Words
glued to an apostrophe, a hyphen or a dot joining them to another word (`don't`, `anti-gay`) are left as they
are: spacing them would change which letters belong to which word.
"""

from __future__ import annotations

import random
import unicodedata

from modtui.probes.words import Word, words

MIN_LETTERS = 4
_JOINERS = "'\u2019@$_.*-"


def mutate(text: str, rng: random.Random) -> str:
    chosen = [w for w in words(text, min_length=MIN_LETTERS) if _stands_alone(text, w)]
    if not chosen:
        return text
    parts, at = [], 0
    for n, word in enumerate(chosen):
        parts += [_widen(text[at : word.start], after_spaced=n > 0, before_spaced=True), " ".join(word.text)]
        at = word.end
    return "".join(parts) + _widen(text[at:], after_spaced=True, before_spaced=False)


def _stands_alone(text: str, word: Word) -> bool:
    before, after = text[max(0, word.start - 2) : word.start], text[word.end : word.end + 2]
    return _free(before[::-1]) and _free(after)


def _free(side: str) -> bool:
    """The characters next to the word (nearest first) do not join it to another word."""
    if not side or side[0].isspace():
        return True
    if side[0].isalnum() or side[0] in "'\u2019@$_" or unicodedata.category(side[0]) == "Cf":
        return False  # an invisible character (air\u200bdrop) joins too
    return side[0] not in _JOINERS or len(side) < 2 or not (side[1].isalnum() or side[1] in "@$")


def _widen(between: str, *, after_spaced: bool, before_spaced: bool) -> str:
    """A single space next to a spaced word becomes two."""
    if after_spaced and between.startswith(" ") and not between.startswith("  "):
        between = " " + between
    if before_spaced and between.endswith(" ") and not between.endswith("  "):
        between += " "
    return between
