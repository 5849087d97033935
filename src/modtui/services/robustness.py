"""The handoff report's robustness section: flip rates of the latest probes, the rules most flipped, repeat
stability of the latest repeat runs, and the top of the review queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modtui.analysis.robustness import worst_rules
from modtui.domain.incident import Item
from modtui.incidents.loader import LoadedIncident
from modtui.workspace import Workspace

QUEUE_TOP = 10
UNSTABLE_SHOWN = 10


def section(ws: Workspace, loaded: LoadedIncident, text: Callable[[Item], str]) -> dict[str, Any]:
    """`text` shows an item's content as the report may (masked, redacted or clipped)."""
    from modtui.services.probe import latest
    from modtui.services.queue import build

    probes = latest(ws, loaded.id)
    queue = build(ws, loaded.id, QUEUE_TOP)
    return {
        "probes": [
            {
                "run_id": r.run_id,
                "target": r.target,
                "prompt": r.prompt,
                "mutations": [
                    {
                        "name": m.name,
                        "variants": m.variants,
                        "flipped": m.flipped,
                        "flip_rate": m.to_dict()["flip_rate"],
                        "flip_rate_ci": m.to_dict()["flip_rate_ci"],
                        "flipped_parents": sorted({f.parent_id for f in m.flipped_items}),
                    }
                    for m in r.mutations
                ],
            }
            for r in probes.runs
        ],
        "worst_rules": worst_rules([m for r in probes.runs for m in r.mutations]),
        "stability": _stability(ws, loaded),
        "queue": [
            {
                "item": q.item.id,
                "score": round(q.entry.score, 3),
                "reasons": [r.code for r in q.entry.reasons],
                "duplicates": len(q.entry.duplicates),
                "content": text(q.item),
            }
            for q in queue.items
        ],
    }


def _stability(ws: Workspace, loaded: LoadedIncident) -> list[dict[str, Any]]:
    from modtui.domain.prompt_name import prompt_name
    from modtui.services.stability import figures, read_repeats
    from modtui.store.review import latest_runs

    expected = {i.id: i.expected for i in loaded.items}
    out = []
    with ws.store().read() as session:
        for run in latest_runs(session, loaded.id):
            s = figures(read_repeats(session, run.id, run.repeats), expected, loaded.incident.positive_label, 0.0)
            if s is not None:
                out.append(
                    {
                        "run_id": run.id,
                        "target": run.target_name,
                        "prompt": prompt_name(run.prompt_path),
                        **{k: v for k, v in s.to_dict().items() if k not in ("unstable", "cost_usd")},
                        "unstable": [u.item_id for u in s.unstable[:UNSTABLE_SHOWN]],
                        "unstable_count": len(s.unstable),
                    }
                )
    return out
