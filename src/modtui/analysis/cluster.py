"""Near-duplicate clusters: the blast radius of a spam wave or a meme template.

Texts are compared on a *cluster key*: ``policy.normalize`` (case, whitespace, confusables,
leetspeak...) with every number folded to ``0``, so "send 0.2 BTC" and "send 5 BTC" match.
Two items are near-duplicates when ``rapidfuzz.fuzz.ratio`` of their keys is at least the
threshold (0-100); clusters are the connected groups of near-duplicates (single linkage).

Scale: identical keys collapse first. Up to ``EXACT_LIMIT`` distinct keys every pair is compared.
Above it, candidates come from MinHash LSH on byte 4-grams of the key (one-permutation hashing,
so one hash per shingle) and only items that share an LSH bucket are compared: each one against
the bucket's *leaders* (the members not yet matched), in C through ``rapidfuzz.process.extractOne``.
That is approximate (a pair whose shingles differ a lot can be missed) and fast: 20,000 items in
about a second; ``bench/cluster.py`` measures its pair recall against brute force.

Output is deterministic for a given input: clusters by size (descending), then first item id.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from modtui.policy.normalize import normalize

DEFAULT_THRESHOLD = 85.0
EXACT_LIMIT = 400  # distinct keys compared all-pairs (≈80k ratio calls)
SHINGLE = 4  # bytes per shingle
BINS = 48  # one-permutation MinHash bins
ROWS = 3  # bins per LSH band: BINS // ROWS bands
MAX_LEADERS = 48  # per bucket: bounds the cost of a bucket of unrelated texts
MEDOID_SAMPLE = 64  # members scored for the representative of a large cluster
PREVIEW_CHARS = 200

_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_MIX = 0x9E3779B1  # Knuth's multiplicative hash: the high bits of the product are well mixed
_MASK = 0xFFFFFFFF
_EMPTY = 1 << 32


@dataclass(frozen=True, slots=True)
class Entry:
    """One text to cluster: an item id, its content and its kind (false_positive, guard...)."""

    id: str
    text: str
    kind: str = ""


@dataclass(frozen=True)
class Cluster:
    id: int
    size: int
    items: list[str]
    kinds: dict[str, int]
    representative: str  # the id of the item closest to the others
    preview: str = field(default="", compare=False)  # the representative's content, clipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "items": list(self.items),
            "kinds": dict(self.kinds),
            "representative": self.representative,
            "preview": self.preview,
        }


def cluster_key(text: str) -> str:
    """The text clusters compare: normalised, with every number folded to 0."""
    return _NUMBER.sub("0", normalize(text))


def check_threshold(threshold: float) -> float:
    if not 0 <= threshold <= 100:
        raise ValueError(f"threshold must be between 0 and 100, not {threshold}")
    return float(threshold)


def cluster(entries: Sequence[Entry], threshold: float = DEFAULT_THRESHOLD, min_size: int = 2) -> list[Cluster]:
    """Near-duplicate clusters of at least `min_size` entries, largest first."""
    threshold = check_threshold(threshold)
    keys = [cluster_key(e.text) for e in entries]
    distinct, members = _distinct(keys)
    forest = _Forest(len(distinct))
    if len(distinct) <= EXACT_LIMIT:
        _link_all_pairs(distinct, threshold, forest)
    else:
        _link_candidates(distinct, threshold, forest)
    groups: dict[int, list[int]] = {}
    for k in range(len(distinct)):
        groups.setdefault(forest.find(k), []).append(k)
    built = [_build(entries, distinct, members, group) for group in groups.values()]
    built = [c for c in built if c.size >= max(1, min_size)]
    built.sort(key=lambda c: (-c.size, c.items[0]))
    return [Cluster(n, c.size, c.items, c.kinds, c.representative, c.preview) for n, c in enumerate(built, start=1)]


def pairs_above(keys: Sequence[str], threshold: float) -> Iterable[tuple[int, int]]:
    """Every pair (i < j) of keys with ratio ≥ threshold, by brute force (for checks and benchmarks)."""
    for i in range(len(keys) - 1):
        rest = keys[i + 1 :]
        for _, _, j in process.extract(keys[i], rest, scorer=fuzz.ratio, score_cutoff=threshold, limit=None):
            yield i, i + 1 + j


# -- linking ------------------------------------------------------------------------------------------


class _Forest:
    """Union-find with path halving; the smaller index wins, so roots are deterministic."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, k: int) -> int:
        parent = self.parent
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _distinct(keys: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """Distinct keys in order of first appearance, and the entry indexes holding each."""
    index: dict[str, int] = {}
    members: list[list[int]] = []
    for i, key in enumerate(keys):
        k = index.setdefault(key, len(members))
        if k == len(members):
            members.append([])
        members[k].append(i)
    return list(index), members


def _link_all_pairs(keys: list[str], threshold: float, forest: _Forest) -> None:
    for i, j in pairs_above(keys, threshold):
        forest.union(i, j)


def _link_candidates(keys: list[str], threshold: float, forest: _Forest) -> None:
    find = forest.find
    for bucket in _buckets(keys):
        first = find(bucket[0])
        if any(find(k) != first for k in bucket):  # else: already one group
            _link_bucket(bucket, keys, threshold, forest)


def _link_bucket(bucket: list[int], keys: list[str], threshold: float, forest: _Forest) -> None:
    """Leader clustering inside one LSH bucket: each member is compared with the leaders of other groups;
    a member that matches none becomes a leader and is compared with the members seen before it.
    Only member-member pairs are skipped, and at most MAX_LEADERS leaders bound a bucket of unrelated texts."""
    leaders: list[int] = []
    roots: list[int] = []  # the group of each leader (refreshed after a union)
    seen: list[int] = []
    for k in bucket:
        root = forest.find(k)
        choices = [i for i, r in enumerate(roots) if r != root]
        hit = (
            process.extractOne(keys[k], [keys[leaders[i]] for i in choices], scorer=fuzz.ratio, score_cutoff=threshold)
            if choices
            else None
        )
        if hit is not None:
            forest.union(k, leaders[choices[hit[2]]])
            roots = [forest.find(x) for x in leaders]
        elif root not in roots and len(leaders) < MAX_LEADERS:
            _link_back(k, seen, keys, threshold, forest)
            leaders.append(k)
            roots = [forest.find(x) for x in leaders]
        seen.append(k)


def _link_back(k: int, seen: list[int], keys: list[str], threshold: float, forest: _Forest) -> None:
    root = forest.find(k)
    others = [m for m in seen if forest.find(m) != root]
    for _, _, at in process.extract(
        keys[k], [keys[m] for m in others], scorer=fuzz.ratio, score_cutoff=threshold, limit=None
    ):
        forest.union(k, others[at])


def _buckets(keys: list[str]) -> list[list[int]]:
    """LSH buckets with two or more members, in a deterministic order."""
    table: dict[tuple[int, ...], list[int]] = {}
    for k, key in enumerate(keys):
        sig = signature(key)
        for band in range(0, BINS, ROWS):
            table.setdefault((band, *sig[band : band + ROWS]), []).append(k)
    # the same members often share several bands: one bucket each
    return list({tuple(b): b for b in table.values() if len(b) > 1}.values())


def signature(key: str) -> list[int]:
    """One-permutation MinHash of the key's 4-byte shingles, densified so no bin is empty.

    Each shingle is read as a little-endian 32-bit integer (four strided array reads: no slice per
    shingle) and hashed by one multiplication; a bin's minimum is found by bisecting the sorted hashes."""
    data = key.encode("utf-8").ljust(SHINGLE, b"\0")
    size = len(data)
    hashes = sorted(
        [
            (x * _MIX) & _MASK
            for offset in range(SHINGLE)
            for x in _words(data[offset : offset + (size - offset) // SHINGLE * SHINGLE])
        ]
    )
    count, bounds = len(hashes), _bounds(BINS)
    sig = []
    for b in range(BINS):
        at = bisect_left(hashes, bounds[b])
        sig.append(hashes[at] if at < count and hashes[at] < bounds[b + 1] else _EMPTY)
    return _densify(sig) if _EMPTY in sig else sig


@lru_cache(maxsize=4)
def _bounds(bins: int) -> list[int]:
    """Bin b holds the hashes in [bounds[b], bounds[b + 1])."""
    return [(b << 32) // bins for b in range(bins + 1)]


def _words(data: bytes) -> array[int]:
    words = array("I", data)
    if sys.byteorder == "big":  # the same shingle integers on every machine
        words.byteswap()
    return words


def _densify(sig: list[int]) -> list[int]:
    """Fill an empty bin from the next filled one (circularly), marked by the distance walked."""
    out = list(sig)
    for b, v in enumerate(sig):
        if v == _EMPTY:
            step = 1
            while sig[(b + step) % BINS] == _EMPTY:
                step += 1
            out[b] = sig[(b + step) % BINS] + step * _EMPTY
    return out


# -- clusters ------------------------------------------------------------------------------------------


def _build(entries: Sequence[Entry], keys: list[str], members: list[list[int]], group: list[int]) -> Cluster:
    indexes = sorted(i for k in group for i in members[k])
    rep_key = _medoid(keys, members, group)
    rep = entries[members[rep_key][0]]
    kinds = Counter(entries[i].kind or "unknown" for i in indexes)
    preview = rep.text if len(rep.text) <= PREVIEW_CHARS else rep.text[: PREVIEW_CHARS - 1] + "…"
    return Cluster(0, len(indexes), [entries[i].id for i in indexes], dict(sorted(kinds.items())), rep.id, preview)


def _medoid(keys: list[str], members: list[list[int]], group: list[int]) -> int:
    """The distinct key with the highest similarity to the cluster's items (weighted by duplicates);
    for a large cluster, scored on an evenly spaced sample of its keys."""
    if len(group) == 1:
        return group[0]
    sample = _spaced(group, MEDOID_SAMPLE)
    sample_keys = [keys[k] for k in sample]
    weights = [len(members[k]) for k in sample]
    best, best_score = sample[0], -1.0
    for k in sample:
        scores = process.extract(keys[k], sample_keys, scorer=fuzz.ratio, limit=None)
        total = sum(score * weights[j] for _, score, j in scores)
        if total > best_score:
            best, best_score = k, total
    return best


def _spaced(values: list[int], limit: int) -> list[int]:
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(n * step)] for n in range(limit)]
