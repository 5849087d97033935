"""`modtui cluster INC`: near-duplicate groups of an incident's items."""

from __future__ import annotations

import click

from modtui.cli.context import AppContext
from modtui.cli.output import echo_json, echo_table, format_option, inert, note

pass_app = click.make_pass_decorator(AppContext)
DEFAULT_THRESHOLD = 85.0  # analysis.cluster's, as a literal: --help imports no services


@click.command("cluster")
@click.argument("incident_id")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Similarity (0-100, rapidfuzz ratio on normalised text) for two items to be near-duplicates.",
)
@click.option(
    "--min-size",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Smallest cluster shown (1 lists every item).",
)
@format_option(("table", "json"))
@pass_app
def cluster(app: AppContext, incident_id: str, threshold: float, min_size: int, fmt: str) -> None:
    """Near-duplicate clusters of an incident's items: a spam wave, one meme template.

    Text is normalised (case, whitespace, look-alike letters, leetspeak, numbers) before comparing.

    \b
    Example:
      modtui cluster INC-0057 --threshold 95
    """
    from modtui.services import cluster as svc

    clusters = svc.clusters_for(app.ws, incident_id, threshold, min_size)
    if fmt == "json":
        echo_json(
            {
                "incident": incident_id,
                "threshold": threshold,
                "min_size": min_size,
                "clusters": [c.to_dict() for c in clusters],
            }
        )
        return
    rows = [
        {
            "cluster": c.id,
            "size": c.size,
            "kinds": _kinds(c.kinds),
            "representative": c.representative,
            "preview": inert(c.preview),
        }
        for c in clusters
    ]
    echo_table(rows, ("cluster", "size", "kinds", "representative", "preview"), max_width=70)
    note(f"{len(clusters)} clusters holding {sum(c.size for c in clusters)} items (threshold {threshold:g})")


def _kinds(kinds: dict[str, int]) -> str:
    return " ".join(f"{kind}:{count}" for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def register(group: click.Group) -> None:
    group.add_command(cluster)
