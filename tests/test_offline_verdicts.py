"""Issue 18: speeding up the offline `rules` baseline must not change one verdict.

tests/data/offline_labels.json was recorded with the classifier as it was before the speed work
(`python tests/offline_corpus.py`): for each sample prompt, the label of each of the corpus's 25,000 posts and a
digest of every verdict in full (confidence, rationale, fired rules, cleared rules, exceptions, evidence), and
the sample incidents' confusion counts. Re-record only for a deliberate, documented change of verdicts, and say
why in the commit message.
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
    labels, full = corpus.verdicts(prompt, contents)
    want = RECORDED["prompts"][prompt]
    changed = [i for i, (a, b) in enumerate(zip(labels, want["labels"])) if a != b]
    shown = [f"c-{i:05d} {contents[i]!r}: {want['labels'][i]} -> {labels[i]}" for i in changed[:10]]
    assert not changed, f"{len(changed)} labels changed:\n" + "\n".join(shown)
    assert full == want["verdicts_sha256"], "labels equal, but a confidence, rationale or cited rule changed"


@pytest.mark.parametrize("key", sorted(RECORDED["samples"]))
def test_sample_confusion_counts_are_the_recorded_ones(key: str) -> None:
    incident_id, prompt = key.split(" ")
    assert corpus.sample_confusion(incident_id, prompt) == RECORDED["samples"][key]
