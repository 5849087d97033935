"""Near-duplicate clustering benchmark: 20,000 synthetic items, wall time, and pair recall vs brute force.

    .venv/bin/python bench/cluster.py [--items 20000] [--sample 2000] [--threshold 85] [--seed 7]

Builds waves of templates with small edits (a word swapped, inserted or dropped, numbers changed,
case, leetspeak, an emoji, a handle) plus unique items, clusters them with modtui's
`analysis.cluster.cluster`, and prints the wall time and the clusters found. Then, on a random
sample (`--sample` items), compares with brute force: every pair whose cluster keys score at least
the threshold (rapidfuzz ratio, all pairs) should land in one cluster. Pair recall is the share
that does; the exact all-pairs path is forced off for the sample so the LSH path is what is measured.
Goal: 20,000 items in a few seconds, pair recall ≥ 0.95. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from modtui.analysis import cluster as cl  # noqa: E402

ONSETS = [
    "",
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "y",
    "ch",
    "sh",
    "th",
    "st",
    "tr",
    "pl",
    "gr",
    "br",
]
VOWELS = ["a", "e", "i", "o", "u", "ea", "ou", "ai", "ee", "y"]
CODAS = ["", "", "n", "r", "s", "t", "ng", "ck", "ll", "nd"]
LEET = str.maketrans({"o": "0", "e": "3", "a": "4", "i": "1", "s": "5"})
EMOJI = ["🚀", "✅", "🔥", "💰", "🙏", "👇", "😂"]
KINDS = ["false_positive", "false_negative", "guard"]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add(
            "".join(
                rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(rng.choice((1, 1, 2, 2, 3)))
            )
        )
    return sorted(words)


def zipf_weights(size: int, s: float = 1.0) -> list[float]:
    """Cumulative weights of a Zipf law over ranks: a few words are very common, like 'the' in English."""
    total, out = 0.0, []
    for rank in range(1, size + 1):
        total += 1 / rank**s
        out.append(total)
    return out


def sentence(rng: random.Random, vocab: list[str], words: int, weights: list[float]) -> list[str]:
    return rng.choices(vocab, cum_weights=weights, k=words)


def edit(rng: random.Random, vocab: list[str], template: list[str]) -> str:
    words = list(template)
    for _ in range(rng.randint(0, 2)):
        op, at = rng.random(), rng.randrange(len(words))
        if op < 0.4:
            words[at] = rng.choice(vocab)
        elif op < 0.7:
            words.insert(at, rng.choice(vocab))
        elif len(words) > 6:
            del words[at]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 5000)))
    text = " ".join(words)
    if rng.random() < 0.2:
        text = text.upper()
    if rng.random() < 0.2:
        text = text.translate(LEET)
    if rng.random() < 0.3:
        text += " " + rng.choice(EMOJI)
    if rng.random() < 0.2:
        text = f"@user_{rng.randint(1, 99999)} " + text
    return text


def synthetic(n: int, seed: int) -> tuple[list[cl.Entry], int]:
    """~60% of the items in waves (10-800 items each), the rest unique; returns entries and wave count."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = zipf_weights(len(vocab))
    entries: list[cl.Entry] = []
    waves = 0
    while len(entries) < int(n * 0.6):
        template = sentence(rng, vocab, rng.randint(8, 30), weights)
        kind = rng.choice(KINDS)
        waves += 1
        for _ in range(min(int(rng.paretovariate(0.8)) * 10, 800, int(n * 0.6) - len(entries))):
            entries.append(cl.Entry(f"w{waves:04d}-{len(entries):06d}", edit(rng, vocab, template), kind))
    while len(entries) < n:
        text = " ".join(sentence(rng, vocab, rng.randint(5, 40), weights))
        entries.append(cl.Entry(f"u-{len(entries):06d}", text, rng.choice(KINDS)))
    rng.shuffle(entries)
    return entries, waves


def pair_recall(entries: list[cl.Entry], threshold: float) -> tuple[int, int, float, float]:
    """(true pairs, pairs found together, recall, brute-force seconds) with the LSH path forced on."""
    keys = [cl.cluster_key(e.text) for e in entries]
    started = time.perf_counter()
    truth = list(cl.pairs_above(keys, threshold))
    brute = time.perf_counter() - started
    limit, cl.EXACT_LIMIT = cl.EXACT_LIMIT, 0
    try:
        clusters = cl.cluster(entries, threshold, min_size=2)
    finally:
        cl.EXACT_LIMIT = limit
    where = {item: c.id for c in clusters for item in c.items}
    together = sum(
        1
        for i, j in truth
        if where.get(entries[i].id) is not None and where.get(entries[i].id) == where.get(entries[j].id)
    )
    return len(truth), together, together / len(truth) if truth else 1.0, brute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--threshold", type=float, default=cl.DEFAULT_THRESHOLD)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    entries, waves = synthetic(args.items, args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    clusters = cl.cluster(entries, args.threshold)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    clustered = sum(c.size for c in clusters)
    print(f"items {len(entries)}  waves generated {waves}  threshold {args.threshold:g}")
    print(
        f"wall {wall:.2f} s (cpu {cpu:.2f} s)  clusters {len(clusters)}  items in clusters {clustered}  "
        f"largest {clusters[0].size if clusters else 0}"
    )
    again = cl.cluster(entries, args.threshold)
    print(f"deterministic: {again == clusters}")

    sample = random.Random(args.seed + 1).sample(entries, min(args.sample, len(entries)))
    pairs, found, recall, brute = pair_recall(sample, args.threshold)
    print(
        f"sample {len(sample)}: brute-force pairs ≥ threshold {pairs} ({brute:.1f} s)  "
        f"in one cluster {found}  pair recall {recall:.4f}"
    )


if __name__ == "__main__":
    main()
