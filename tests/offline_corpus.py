"""A seeded 25,000-item moderation corpus for the offline `rules` baseline (tests/test_offline_verdicts.py,
bench/offline.py).

Nobody on the team wrote these posts one by one: each is drawn from pools of benign chatter and of the signals
the sample policies look for (hate speech, scams, threats, their exceptions), joined into one to three
sentences and then, at random, disguised the way abusers and ordinary people write — leetspeak, Cyrillic and
Greek look-alikes, zero-width characters, spaced and stretched letters, case games, dots inside words, emoji,
accents, fullwidth forms, URLs, e-mail addresses, @handles, numbers and prices — plus genuine Cyrillic, Greek,
CJK and Arabic text, long posts and near-empty ones. `random.Random` with a fixed seed gives the same corpus on
every platform and Python version (its choice/random algorithms are stable); tests check its digest, so a
change here is told apart from a change in the classifier.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEED = 18
SIZE = 25_000

BENIGN = [
    "just got back from the farmers market",
    "the new coffee place on 5th is great",
    "anyone watching the game tonight",
    "my cat knocked the plant over again",
    "finally finished the quarterly report",
    "rain all week, typical",
    "recipe in the comments",
    "who else is tired of this heat",
    "proud of my kid for finishing the marathon",
    "the bus was late again",
    "this playlist is a vibe",
    "happy birthday to my favourite person",
    "we're hiring a junior designer, dm me",
    "the library has a free workshop on saturday",
    "that movie was way better than the book",
    "learning to knit, send help",
    "gg everyone, great match",
    "new personal best in ranked today",
    "the boss fight in this game is brutal",
    "respawn timers are too long",
    "police said the road will reopen at 6pm",
    "the suspect was arrested downtown",
    "I reported the account",
    "blocked and reported, this is not okay",
    "screenshot of the message for the record",
    "as a queer woman I'm so tired of people telling me who to love",
    "we're deaf and proud of our community",
    "trans joy is real",
    "I'm a proud immigrant and a nurse",
    "my grandma makes the best dumplings",
    "send 2 photos of the venue please",
    "double check your tickets before the show",
    "won the pub quiz with my team",
    "claim your seat early, the hall fills up",
    "gift ideas for my sister?",
    "the telegraph had a piece on this",
    "my wallet is empty after the holidays",
    "airport delays again",
    "earned my first paycheck",
    "I'd be careful with that ladder",
    "accidents happen, don't worry about the vase",
    "you are dead wrong about pineapple pizza",
    "watch your back on the ice, it's slippery",
    "this bug is a disease in our codebase",
    "they are animals on the dance floor lol",
    '"go back to the start" is wrong advice here',
    "the rats in the subway are huge",
]

SIGNALS = [
    # hate speech
    "grobniks don't belong here",
    "those grobniks are vermin",
    "they are like rats",
    "vlarshes should be deported",
    "get these vlarshes out",
    "skeevo",
    "subhuman trash",
    "immigrants are the problem",
    "sick of muslims",
    "I hate gay people",
    "they should all be banned",
    "go back to where they came from",
    "nothing but parasites",
    "proud grobnik since 2009",
    "vlarsh and proud",
    "we grobniks look after each other",
    "as a trans man I hate this",
    '"grobniks are vermin" is disgusting',
    '"they don\'t belong here" was unacceptable',
    "our vlarsh aunties",
    "i'm gay and tired of the jokes",
    "disabled people are a problem apparently",
    "kick them out now",
    # scams
    "double your bitcoin today",
    "send 0.5 btc and get 1 btc back",
    "bitcoin giveaway live now",
    "guaranteed returns of 300% monthly roi",
    "western union only",
    "next of kin to an unclaimed inheritance",
    "pay the release fee",
    "you have won a prize",
    "you've won an iphone",
    "claim your prize now",
    "lottery winner selected",
    "free airdrop, connect your wallet",
    "enter your seed phrase to verify",
    "pay with steam gift cards",
    "apple gift card codes only",
    "earn $300 per day liking videos",
    "message me on telegram",
    "rating products from home",
    "beneficiary of the estate",
    "transfer the funds today",
    "40% daily profit",
    "eth giveaway",
    "claim your tokens",
    # threats
    "I'll kill you",
    "we're gonna hurt them",
    "i am going to shoot",
    "you're dead",
    "watch your back",
    "i know where you live",
    "someone should kill him",
    "he deserves to die",
    "should be hanged",
    "shame if something happened to your car",
    "accidents happen to people like you",
    "i'd be careful walking home",
    "i will burn it down",
    "put a bullet in him",
    "going to shoot up the school",
    "we will bomb it",
    "according to police the man was charged",
    "prosecutors said he threatened to kill",
    "was sentenced today",
    "in game I'll kill you first",
    "fortnite squad will shoot",
    "this is not okay, reported",
]

FILLER = ("honestly", "lol", "ngl", "seriously", "wow", "ok", "smh", "fr", "idk", "omg", "btw", "tbh")
EMOJI = ("😂", "🔥", "🙏", "💀", "🚀", "❤️", "🏳️‍🌈", "👨‍👩‍👧", "👍🏽", "🤡", "💰", "🎉")
FOREIGN = (
    "это просто текст о погоде",
    "καλημέρα σε όλους",
    "今日はいい天気ですね",
    "مرحبا بالجميع",
    "сосо и рара",
    "Привет, как дела?",
    "ελπίζω να είστε καλά",
    "ой всё",
)
HOMOGLYPHS = {
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "y": "у",
    "i": "і",
    "s": "ѕ",
    "k": "κ",
    "v": "ν",
    "t": "τ",
}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
ACCENTED = {"a": "á", "e": "é", "i": "ï", "o": "ö", "u": "ü", "n": "ñ", "c": "ç"}
EXTRAS = (
    "https://example.org/promo?id=42",
    "www.example.org/x1",
    "contact me at win4@example.org",
    "@made_up_4ever",
    "$50",
    "24h",
    "2026",
    "100mg",
    "3pm",
    "mp3",
    "ps5",
    "win10",
    "5th",
    "US$50",
    "c$20",
    "#1",
    "1 2 3",
    "f r e e",
    "a.b.c.d",
    "x-y-z",
    "#tag",
    "l0l",
    "n00b",
    "gr8",
    "b4",
    "h4x0r",
    "c4sh",
    "fr33",
    "$ale",
    "wow!!!",
)


def _word_mutation(rng: random.Random, word: str) -> str:
    kind = rng.randrange(12)
    if kind == 0:
        return "".join(LEET.get(c, c) if rng.random() < 0.6 else c for c in word)
    if kind == 1:
        return "".join(HOMOGLYPHS.get(c, c) if rng.random() < 0.5 else c for c in word)
    if kind == 2:
        zw = rng.choice(ZERO_WIDTH)
        return zw.join(word)
    if kind == 3:
        return rng.choice((" ", ".", "-", "*")).join(word)
    if kind == 4:
        i = rng.randrange(len(word))
        return word[:i] + word[i] * rng.randrange(2, 7) + word[i + 1 :]
    if kind == 5:
        return "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
    if kind == 6:
        return word.upper()
    if kind == 7:
        return "".join(ACCENTED.get(c, c) if rng.random() < 0.5 else c for c in word)
    if kind == 8:  # fullwidth
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if kind == 9:
        i = rng.randrange(len(word) + 1)
        return word[:i] + rng.choice(EMOJI) + word[i:]
    if kind == 10:
        return word + rng.choice(("!", "?", "!!", "...", ",", "'s", "s"))
    return word.capitalize()


def _disguise(rng: random.Random, text: str, rate: float) -> str:
    words = text.split(" ")
    return " ".join(_word_mutation(rng, w) if w and rng.random() < rate else w for w in words)


def _post(rng: random.Random) -> tuple[str, bool]:
    """One post and whether it was built around a signal."""
    parts: list[str] = []
    signal = rng.random() < 0.45
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        pool = SIGNALS if signal and not parts else BENIGN
        parts.append(rng.choice(pool))
    if rng.random() < 0.3:
        rng.shuffle(parts)
    if rng.random() < 0.3:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(FILLER))
    if rng.random() < 0.15:
        parts.append(rng.choice(EXTRAS))
    if rng.random() < 0.15:
        parts.append(rng.choice(EMOJI) * rng.randrange(1, 4))
    if rng.random() < 0.06:
        parts.append(rng.choice(FOREIGN))
    text = rng.choice((". ", " ", ", ", "! ", "\n", " - ")).join(parts)
    roll = rng.random()
    if roll < 0.35:
        text = _disguise(rng, text, rng.choice((0.1, 0.3, 0.6)))
    elif roll < 0.38:
        text = text * rng.randrange(5, 40)  # a long post
    elif roll < 0.39:
        text = rng.choice(("", "ok", "?", "🔥", "\u200b"))
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:] if text else text
    return text, signal


def items(n: int = SIZE, seed: int = SEED) -> Iterator[dict[str, object]]:
    """The corpus as incident items (labels violating / non_violating; `expected` says whether the post was built
    around a signal, `observed` is a noisy copy of it, so every kind occurs)."""
    rng = random.Random(seed)
    for i in range(n):
        content, signal = _post(rng)
        expected = "violating" if signal else "non_violating"
        observed = expected if rng.random() < 0.8 else ("non_violating" if signal else "violating")
        yield {
            "id": f"c-{i:05d}",
            "content": content or "(empty)",
            "expected": expected,
            "observed": observed,
            "meta": {"locale": rng.choice(("en-US", "en-GB", "en-IN")), "surface": rng.choice(("post", "comment"))},
        }


def digest(rows: list[dict[str, object]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


INCIDENT_YAML = """id: {id}
title: Offline baseline at volume (generated corpus, tests/offline_corpus.py)
severity: SEV3
status: investigating
policy: hate_speech
labels: [violating, non_violating]
positive_label: violating
production: {{prompt: prompts/hate_speech/production.yaml, model: offline}}
description: A seeded corpus of {n} posts for the offline rules baseline.
"""


def write_incident(workspace: Path, incident_id: str, n: int = SIZE, seed: int = SEED) -> Path:
    """incidents/<incident_id>/ in `workspace` holding the corpus (its prompts are the samples' hate_speech ones)."""
    folder = workspace / "incidents" / incident_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "incident.yaml").write_text(INCIDENT_YAML.format(id=incident_id, n=n), encoding="utf-8")
    with (folder / "items.jsonl").open("w", encoding="utf-8") as out:
        for row in items(n, seed):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


# ---------------------------------------------------------------- recorded verdicts (tests/data/offline_labels.json)
ROOT = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).resolve().parent / "data" / "offline_labels.json"
PROMPTS = (
    "hate_speech/production",
    "hate_speech/candidate",
    "scam_spam/production",
    "scam_spam/candidate",
    "violent_threats/production",
    "violent_threats/candidate",
)
SAMPLES = {"INC-0042": "hate_speech", "INC-0057": "scam_spam", "INC-0063": "violent_threats"}


def _prompt(name: str) -> tuple[object, list[str], str | None]:
    import yaml

    from modtui.policy.model import Policy

    doc = yaml.safe_load((ROOT / "prompts" / f"{name}.yaml").read_text(encoding="utf-8"))
    return Policy.model_validate(doc["policy"]), doc["labels"], doc.get("positive_label")


def verdicts(name: str, contents: list[str]) -> tuple[str, str]:
    """(one character per item: the index of its label in the prompt's labels; sha256 of every verdict in full —
    label, confidence, rationale, fired, cleared, exceptions, evidence)."""
    chars, h = [], hashlib.sha256()
    for index, verdict in _verdicts(name, contents):
        chars.append(index)
        h.update(json.dumps(verdict, ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return "".join(chars), h.hexdigest()


def _verdicts(name: str, contents: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(the index of its label in the prompt's labels, the verdict in full) of each post."""
    from modtui.policy.classify import classify

    policy, labels, positive = _prompt(name)
    index = {label: str(i) for i, label in enumerate(labels)}
    for content in contents:
        v = classify(content, policy, labels, positive_label=positive)  # type: ignore[arg-type]
        yield index[v.label], v.to_dict()


# The suite checks the labels and verdicts of a subset of the corpus (tests/test_offline_verdicts.py); the whole
# corpus is checked by `python tests/offline_corpus.py --check`. The subset: for each sample prompt, every verdict
# path the corpus takes (its label with the rules that fired, were cleared and were excepted), up to PER_PATH posts
# each, and a seeded sample of SAMPLE posts of every kind. Chosen when recorded, and kept as item numbers.
PER_PATH, SAMPLE = 8, 2_500


def choose_subset(contents: list[str]) -> list[int]:
    rng = random.Random(SEED)
    order = list(range(len(contents)))
    rng.shuffle(order)
    chosen = set(order[:SAMPLE])
    for name in PROMPTS:
        taken: dict[tuple[object, ...], int] = {}  # posts taken per path
        found = list(_verdicts(name, [contents[i] for i in order]))
        for i, (_, verdict) in zip(order, found):
            path = _path(verdict)
            if taken.get(path, 0) < PER_PATH:
                taken[path] = taken.get(path, 0) + 1
                chosen.add(i)
    return sorted(chosen)


def _path(verdict: dict[str, Any]) -> tuple[object, ...]:
    return verdict["label"], *(tuple(sorted(map(str, verdict[k]))) for k in ("fired", "cleared", "exceptions"))


def record_subset(contents: list[str]) -> dict[str, object]:
    subset = choose_subset(contents)
    chosen = [contents[i] for i in subset]
    return {"items": subset, "verdicts_sha256": {name: verdicts(name, chosen)[1] for name in PROMPTS}}


def check() -> list[str]:
    """The whole corpus against the record: what differs (nothing, when the classifier's verdicts are unchanged)."""
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    rows = list(items())
    if digest(rows) != recorded["corpus"]["sha256"]:
        return ["the generated corpus changed (tests/offline_corpus.py)"]
    contents, problems = [str(r["content"]) for r in rows], []
    for name in PROMPTS:
        labels, full = verdicts(name, contents)
        want = recorded["prompts"][name]
        changed = sum(a != b for a, b in zip(labels, want["labels"]))
        if changed:
            problems.append(f"{name}: {changed} of {len(contents)} labels changed")
        elif full != want["verdicts_sha256"]:
            problems.append(f"{name}: labels equal, but a confidence, rationale or cited rule changed")
    return problems


def sample_confusion(incident_id: str, name: str) -> dict[str, int]:
    """tp/fp/fn/tn of a prompt on a sample incident's items (positive label: the incident's)."""
    import yaml

    from modtui.policy.classify import classify

    positive = yaml.safe_load((ROOT / "incidents" / incident_id / "incident.yaml").read_text())["positive_label"]
    policy, labels, prompt_positive = _prompt(name)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for line in (ROOT / "incidents" / incident_id / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            got = classify(item["content"], policy, labels, positive_label=prompt_positive).label  # type: ignore[arg-type]
            said, truth = got == positive, item["expected"] == positive
            counts[("t" if said == truth else "f") + ("p" if said else "n")] += 1
    return counts


def record() -> dict[str, object]:
    rows = list(items())
    contents = [str(r["content"]) for r in rows]
    out: dict[str, object] = {
        "corpus": {"seed": SEED, "size": SIZE, "sha256": digest(rows)},
        "prompts": {},
        "samples": {},
    }
    for name in PROMPTS:
        labels, full = verdicts(name, contents)
        out["prompts"][name] = {"labels": labels, "verdicts_sha256": full}  # type: ignore[index]
    for incident_id, policy in SAMPLES.items():
        for which in ("production", "candidate"):
            out["samples"][f"{incident_id} {policy}/{which}"] = sample_confusion(incident_id, f"{policy}/{which}")  # type: ignore[index]
    out["subset"] = record_subset(contents)
    return out


if __name__ == "__main__":
    import sys
    import time

    if sys.argv[1:] == ["--check"]:  # the whole corpus, as the suite checks its subset
        started = time.perf_counter(), time.process_time()
        problems = check()
        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
        print("\n".join(problems) or f"{SIZE:,} posts x {len(PROMPTS)} prompts: every verdict as recorded", end="")
        print(f" ({wall:.1f} s wall, {cpu:.1f} s CPU)")
        sys.exit(1 if problems else 0)
    # re-record: only for a deliberate, documented change of verdicts (say why in the commit)
    RECORD.write_text(json.dumps(record(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RECORD}")
