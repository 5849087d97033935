"""Issue 18: speeding up the offline `rules` baseline must not change one verdict.

tests/data/offline_labels.json was recorded with the classifier as it was before the speed work
(`python tests/offline_corpus.py`): for each sample prompt, the label of each of the corpus's 25,000 posts and a
digest of every verdict in full (confidence, rationale, fired rules, cleared rules, exceptions, evidence), and
the sample incidents' confusion counts. Re-record only for a deliberate, documented change of verdicts, and say
why in the commit message.

The suite checks a recorded subset of 2,734 posts (every verdict path of every prompt, and a seeded sample:
offline_corpus.choose_subset), label by label and by a digest of its verdicts in full; `python
tests/offline_corpus.py --check` checks all 25,000 (~10 s of CPU), as a change to the classifier should.
"""

from __future__ import annotations

import json

import pytest

import offline_corpus as corpus

RECORDED = json.loads(corpus.RECORD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def contents() -> list[str]:
    rows = list(corpus.items())
    assert corpus.digest(rows) == RECORDED["corpus"]["sha256"], "the generated corpus changed (tests/offline_corpus.py)"
    return [str(r["content"]) for r in rows]


@pytest.mark.parametrize("prompt", corpus.PROMPTS)
def test_corpus_verdicts_are_the_recorded_ones(prompt: str, contents: list[str]) -> None:
    subset = RECORDED["subset"]["items"]
    labels, full = corpus.verdicts(prompt, [contents[i] for i in subset])
    want = [RECORDED["prompts"][prompt]["labels"][i] for i in subset]
    changed = [n for n, (a, b) in enumerate(zip(labels, want, strict=True)) if a != b]
    shown = [f"c-{subset[n]:05d} {contents[subset[n]]!r}: {want[n]} -> {labels[n]}" for n in changed[:10]]
    assert not changed, f"{len(changed)} labels changed:\n" + "\n".join(shown)
    assert full == RECORDED["subset"]["verdicts_sha256"][prompt], (
        "labels equal, but a confidence, rationale or rule changed"
    )


@pytest.mark.parametrize("key", sorted(RECORDED["samples"]))
def test_sample_confusion_counts_are_the_recorded_ones(key: str) -> None:
    incident_id, prompt = key.split(" ")
    assert corpus.sample_confusion(incident_id, prompt) == RECORDED["samples"][key]
