"""Precedent search: the labelled items most similar to a text, across incidents.

Texts are compared on the clusters' key (``cluster_key``: normalised, numbers folded) with
punctuation and symbols turned into spaces, by ``rapidfuzz.fuzz.token_set_ratio``: word order does
not count, and a short query whose words all occur in a post scores 100 ("grobniks are rats"
finds "Nobody wants grobniks in X. They are like rats..."), while two posts are scored as wholes.
(``WRatio`` was tried: its partial matching ranked unrelated posts that share a few letters as
high, and it is 5× slower.) An index is built once and searched many times; ties are broken by
incident id, then item id, so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process, utils

from modtui.analysis.cluster import cluster_key


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled item that can be a precedent."""

    incident_id: str
    item_id: str
    content: str
    label: str  # the gold label (`expected`)
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    example: Example
    score: float

    def to_dict(self) -> dict[str, Any]:
        e = self.example
        return {
            "incident": e.incident_id,
            "item": e.item_id,
            "score": round(self.score, 1),
            "label": e.label,
            "kind": e.kind,
            "content": e.content,
        }


def search_key(text: str) -> str:
    """The cluster key with punctuation and symbols as spaces (so "rats," is the word "rats")."""
    return utils.default_process(cluster_key(text))


class PrecedentIndex:
    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)
        self.keys = [search_key(e.content) for e in self.examples]

    def __len__(self) -> int:
        return len(self.examples)

    def search(
        self,
        text: str,
        top: int = 5,
        *,
        exclude_incidents: Collection[str] = (),
        exclude_item: tuple[str, str] | None = None,
        labels: Collection[str] | None = None,
        min_score: float = 0.0,
    ) -> list[Match]:
        """The `top` examples most similar to `text`, best first, leaving out whole incidents, one
        (incident, item), and examples whose label is not in `labels` (when given)."""
        if top < 1 or not self.examples:
            return []
        hits = process.extract(
            search_key(text), self.keys, scorer=fuzz.token_set_ratio, score_cutoff=min_score, limit=None
        )
        matches = [
            Match(self.examples[at], score)
            for _, score, at in hits
            if self._allowed(self.examples[at], exclude_incidents, exclude_item, labels)
        ]
        matches.sort(key=lambda m: (-m.score, m.example.incident_id, m.example.item_id))
        return matches[:top]

    @staticmethod
    def _allowed(
        e: Example,
        exclude_incidents: Collection[str],
        exclude_item: tuple[str, str] | None,
        labels: Collection[str] | None,
    ) -> bool:
        if e.incident_id in exclude_incidents or (e.incident_id, e.item_id) == exclude_item:
            return False
        return labels is None or e.label in labels
