"""Variants of an incident's items: each parent × mutation × 1..per_item, reproducible from its seed.

A variant's seed is derived from the probe's seed, the parent's id, the mutation and the variant's number, so
the same command makes the same variants, and (parent_id, mutation, seed) alone re-makes one. Variants equal
to their parent (the mutation found nothing to change) or to an earlier variant of the same parent and
mutation are dropped.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence

from modtui.analysis.robustness import Variant
from modtui.probes.mutations import mutation

SEPARATOR = "~"


def variant_seed(seed: int, parent_id: str, name: str, number: int) -> int:
    digest = hashlib.sha256(f"{seed}:{parent_id}:{name}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def variant_id(parent_id: str, name: str, seed: int, number: int) -> str:
    return f"{parent_id}{SEPARATOR}{name}{SEPARATOR}{seed}.{number}"


def mutate(content: str, name: str, seed: int) -> str:
    """The variant of `content` under mutation `name` with variant seed `seed`."""
    return mutation(name)(content, random.Random(seed))


def make_variants(parents: Iterable[tuple[str, str]], names: Sequence[str], per_item: int, seed: int) -> list[Variant]:
    """Variants of each (id, content) parent: for each mutation, up to `per_item` distinct ones."""
    out = []
    for parent_id, content in parents:
        for name in names:
            seen = {content}
            for number in range(1, per_item + 1):
                s = variant_seed(seed, parent_id, name, number)
                text = mutate(content, name, s)
                if text in seen:
                    continue
                seen.add(text)
                out.append(Variant(variant_id(parent_id, name, seed, number), parent_id, name, s, text))
    return out
