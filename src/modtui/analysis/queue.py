"""The review queue: which of an incident's items most need a human next, and why.

Each item collects reasons, each with a weight; an item's score is the sum of its reasons' weights. The
reasons, strongest first:

* ``disagreement`` (3): the latest runs of different targets or prompts gave the item different labels;
* ``label_disputed`` (2.5): a label_error finding corrects the item's gold label;
* ``unstable`` (2): its verdicts differed between repeats of one run (`replay --repeat`);
* ``annotators_disagree`` (2): its human annotations are not all the same label;
* ``probe_flip`` (1.5): a label-preserving variant of it got another label (`modtui probe`);
* ``low_margin`` (1 at the threshold, falling to 0 at the edge of the band): the confidence of the positive
  label lies within ``band`` of the decision threshold.

Near-duplicates are collapsed: of each cluster only its highest-scored member is queued (the others are
listed with it), so the queue covers distinct cases. Ties go to more reasons, then to the item id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WEIGHTS = {
    "disagreement": 3.0,
    "label_disputed": 2.5,
    "unstable": 2.0,
    "annotators_disagree": 2.0,
    "probe_flip": 1.5,
    "low_margin": 1.0,
}
DEFAULT_THRESHOLD = 0.5
DEFAULT_BAND = 0.15


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.code, "detail": self.detail, "weight": round(self.weight, 3)}


def reason(code: str, detail: str, weight: float | None = None) -> Reason:
    return Reason(code, detail, WEIGHTS[code] if weight is None else weight)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One latest-run verdict on an item: which run (`source`, e.g. "gpt-mini × hate_speech/candidate") said what."""

    source: str
    label: str | None
    confidence: float | None = None


@dataclass
class QueueEntry:
    item_id: str
    score: float
    reasons: list[Reason]
    duplicates: list[str] = field(default_factory=list)  # near-duplicates folded into this entry

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "score": round(self.score, 3),
            "reasons": [r.to_dict() for r in self.reasons],
            "duplicates": list(self.duplicates),
        }


def disagreement(verdicts: Sequence[Verdict]) -> Reason | None:
    labels = {v.label for v in verdicts if v.label is not None}
    if len(labels) < 2:
        return None
    return reason("disagreement", "; ".join(f"{v.source}: {v.label}" for v in verdicts if v.label is not None))


def low_margin(
    verdicts: Sequence[Verdict], positive: str, threshold: float = DEFAULT_THRESHOLD, band: float = DEFAULT_BAND
) -> Reason | None:
    """The closest call among the verdicts, when it falls within `band` of `threshold`."""
    best: tuple[float, Verdict, float] | None = None
    for v in verdicts:
        if v.label is None or v.confidence is None:
            continue
        score = v.confidence if v.label == positive else 1.0 - v.confidence
        distance = abs(score - threshold)
        if distance <= band and (best is None or distance < best[0]):
            best = (distance, v, score)
    if best is None:
        return None
    distance, v, score = best
    return reason(
        "low_margin",
        f"{v.source}: {positive} {score:.2f} vs threshold {threshold:.2f}",
        WEIGHTS["low_margin"] * (1.0 - distance / band) if band else WEIGHTS["low_margin"],
    )


def annotators_disagree(annotations: Mapping[str, str] | None) -> Reason | None:
    if not annotations or len(set(annotations.values())) < 2:
        return None
    return reason("annotators_disagree", ", ".join(f"{a}: {label}" for a, label in sorted(annotations.items())))


def rank(
    reasons: Mapping[str, Sequence[Reason]], clusters: Sequence[Sequence[str]] = (), size: int | None = None
) -> list[QueueEntry]:
    """The queue: items with at least one reason, best first, one per near-duplicate cluster."""
    entries = {
        item: QueueEntry(item, sum(r.weight for r in rs), sorted(rs, key=lambda r: -r.weight))
        for item, rs in reasons.items()
        if rs
    }
    for members in clusters:
        queued = sorted((entries[m] for m in members if m in entries), key=_order)
        if len(queued) < 2:
            continue
        head = queued[0]
        head.duplicates = sorted(e.item_id for e in queued[1:])
        for folded in queued[1:]:
            del entries[folded.item_id]
    ranked = sorted(entries.values(), key=_order)
    return ranked if size is None else ranked[:size]


def _order(entry: QueueEntry) -> tuple[float, int, str]:
    return (-entry.score, -len(entry.reasons), entry.item_id)
