"""`emoji`: emoji set between words (each gap between two words has an even chance; at least one gets one)."""

from __future__ import annotations

import random

from modtui.probes.words import gaps

EMOJI = ("\U0001f602", "\U0001f525", "\U0001f4af", "\U0001f64f", "\u2728", "\U0001f440", "\U0001f605", "\U0001f923")


def mutate(text: str, rng: random.Random) -> str:
    spans = [m.span() for m in gaps(text)]
    if not spans:
        return text
    chosen = {s for s in spans if rng.random() < 0.5} or {rng.choice(spans)}
    parts, at = [], 0
    for start, end in spans:
        if (start, end) in chosen:
            parts += [text[at:start], f" {rng.choice(EMOJI)} "]
            at = end
    return "".join(parts) + text[at:]
