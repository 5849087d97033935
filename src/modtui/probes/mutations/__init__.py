"""The built-in evasion mutations, one module each, one registry line each.

A mutation is a pure function `(text, rng) -> text` that keeps the meaning (and so the label) of the text and
changes how it is spelt. It returns the text unchanged when it has nothing to change (no word long enough);
the probe drops such variants. Randomness comes only from `rng`, so a variant is reproduced from its seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from modtui.probes.mutations import (
    case,
    emoji,
    homoglyph,
    leet,
    punct,
    spacing,
    typo,
    zero_width,
)

Mutation = Callable[[str, random.Random], str]

MUTATIONS: dict[str, Mutation] = {
    "leet": leet.mutate,
    "homoglyph": homoglyph.mutate,
    "spacing": spacing.mutate,
    "zero_width": zero_width.mutate,
    "case": case.mutate,
    "punct": punct.mutate,
    "emoji": emoji.mutate,
    "typo": typo.mutate,
}


def mutation(name: str) -> Mutation:
    """The mutation called `name` (KeyError for an unknown one: callers check names against MUTATIONS first)."""
    return MUTATIONS[name]
