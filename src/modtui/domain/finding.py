"""Root-cause findings: what was found on an incident, its evidence, and proposed gold-label corrections."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LABEL_ERROR = "label_error"


class FindingStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # closed: the cause is understood and acted on (a dispute: accepted)
    REJECTED = "rejected"  # closed: a label dispute that was checked and turned down
    SUPERSEDED = "superseded"  # replaced by a later finding (superseded_by)


# Label corrections count while the dispute stands: proposed (open) or accepted (resolved).
CORRECTING = frozenset({FindingStatus.OPEN, FindingStatus.RESOLVED})


@dataclass(frozen=True)
class Finding:
    id: int
    incident_id: str
    category: str
    summary: str
    status: FindingStatus
    author: str
    created_at: str
    fix: str | None = None
    resolved_at: str | None = None
    resolution: str | None = None
    superseded_by: int | None = None
    items: tuple[str, ...] = ()
    runs: tuple[int, ...] = ()
    corrections: dict[str, str] = field(default_factory=dict)  # item id → proposed gold label

    @property
    def is_open(self) -> bool:
        return self.status is FindingStatus.OPEN

    @property
    def corrects_labels(self) -> bool:
        """Whether this finding's label corrections apply to `--labels corrected` metrics."""
        return self.category == LABEL_ERROR and self.status in CORRECTING and bool(self.corrections)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_id,
            "category": self.category,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
            "author": self.author,
            "created_at": self.created_at,
            "resolved_at": self.resolved_at,
            "resolution": self.resolution,
            "superseded_by": self.superseded_by,
            "items": list(self.items),
            "runs": list(self.runs),
            "corrections": dict(self.corrections),
        }


@dataclass(frozen=True)
class LabelCorrection:
    item_id: str
    original: str
    corrected: str
    finding_id: int


def apply_corrections(expected: dict[str, str], findings: list[Finding]) -> dict[str, LabelCorrection]:
    """The corrections in force, oldest finding first so that a later finding's correction of an item wins.

    Items not in `expected` (no longer in the incident) and corrections back to the original label are skipped.
    """
    out: dict[str, LabelCorrection] = {}
    for finding in sorted((f for f in findings if f.corrects_labels), key=lambda f: f.id):
        for item_id, label in finding.corrections.items():
            if item_id in expected:
                out[item_id] = LabelCorrection(item_id, expected[item_id], label, finding.id)
    return {k: v for k, v in out.items() if v.corrected != v.original}


def corrected_labels(expected: dict[str, str], corrections: dict[str, LabelCorrection]) -> dict[str, str]:
    return {
        item_id: corrections[item_id].corrected if item_id in corrections else label
        for item_id, label in expected.items()
    }
