"""Near-duplicate clusters of an incident's items (the blast radius of a wave), for the CLI, TUI and report."""

from __future__ import annotations

from modtui.analysis.cluster import DEFAULT_THRESHOLD, Cluster, Entry, check_threshold, cluster
from modtui.domain.incident import Item, feature_text
from modtui.errors import Problem, UsageError
from modtui.workspace import Workspace

__all__ = ["DEFAULT_THRESHOLD", "Cluster", "clusters_for", "cluster_items", "membership"]


def clusters_for(
    ws: Workspace, incident_id: str, threshold: float = DEFAULT_THRESHOLD, min_size: int = 2
) -> list[Cluster]:
    """The incident's near-duplicate clusters of at least `min_size` items, largest first."""
    threshold = _threshold(threshold)
    if min_size < 1:
        raise UsageError(Problem("--min-size", f"must be at least 1, not {min_size}"))
    return cluster_items(ws.load_incident(incident_id).items, threshold, min_size)


def cluster_items(items: list[Item], threshold: float = DEFAULT_THRESHOLD, min_size: int = 2) -> list[Cluster]:
    entries = [Entry(i.id, feature_text(i.content), i.kind.value if i.kind else "eval") for i in items]
    return cluster(entries, _threshold(threshold), min_size)


def membership(clusters: list[Cluster]) -> dict[str, int]:
    """item id → the id of its cluster."""
    return {item: c.id for c in clusters for item in c.items}


def _threshold(threshold: float) -> float:
    try:
        return check_threshold(threshold)
    except ValueError as exc:
        raise UsageError(Problem("--threshold", str(exc))) from None
