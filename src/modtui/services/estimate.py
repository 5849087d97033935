"""A run's precision, recall and error counts at production volume, from a sample incident (see
analysis.estimate for the method)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from modtui.analysis.estimate import METHOD, SampledItem, estimate, sample_size
from modtui.domain.incident import DEFAULT_STRATUM
from modtui.errors import Problem, UsageError

if TYPE_CHECKING:
    from modtui.workspace import Workspace


def estimate_run(ws: Workspace, incident_id: str, run_id: int, daily_volume: int | None = None) -> dict[str, Any]:
    from modtui.services.incidents import load_and_sync
    from modtui.services.runs import scored_views

    loaded = load_and_sync(ws, incident_id)
    population = loaded.incident.population
    if population is None:
        raise UsageError(
            Problem(
                f"{incident_id}",
                "is not a sample of production traffic: give incident.yaml "
                "`kind: sample` and `population: {stratum: size}`",
            )
        )
    ((view, scored),) = scored_views(ws, [run_id], "original")
    if view.run.incident_id != incident_id:
        raise UsageError(Problem("--run", f"run {run_id} is on {view.run.incident_id}, not {incident_id}"))
    labels = {s.item_id: s.label for s in scored}
    positive = loaded.incident.positive_label
    sample = [
        SampledItem(
            item.stratum or DEFAULT_STRATUM, item.weight or 1.0, item.expected == positive, labels[item.id] == positive
        )
        for item in loaded.items
        if item.id in labels
    ]
    est = estimate(sample, population)
    out: dict[str, Any] = {
        "incident": incident_id,
        "run_id": run_id,
        "target": view.run.target_name,
        "prompt": view.prompt_name,
        "items": len(sample),
        "items_without_result": len(loaded.items) - len(sample),
        "population": sum(population.values()),
        "strata": {
            h: {"population": n, "items": sum(1 for s in sample if s.stratum == h)}
            for h, n in sorted(population.items())
        },
        "precision": est.precision.to_dict(),
        "recall": est.recall.to_dict(),
        "prevalence": est.prevalence.to_dict(),
        "predicted_positive_rate": est.predicted_positive_rate.to_dict(),
        "method": METHOD,
    }
    if daily_volume is not None:
        out["daily"] = {
            "volume": daily_volume,
            "false_positives": _scaled(est.fp_rate.value, est.fp_rate.interval, daily_volume),
            "false_negatives": _scaled(est.fn_rate.value, est.fn_rate.interval, daily_volume),
        }
    return out


def _scaled(rate: float | None, interval: tuple[float, float] | None, volume: int) -> dict[str, Any]:
    return {
        "value": None if rate is None else round(rate * volume),
        "ci": None if interval is None else [round(interval[0] * volume), round(interval[1] * volume)],
    }


def plan(population: int, prevalence: float, halfwidth: float, recall: float | None = None) -> dict[str, Any]:
    """Items to label for a prevalence interval of ± halfwidth (and, given an expected recall, for a recall
    interval of the same width: enough items that the expected positives among them reach that many)."""
    try:
        items = sample_size(population, prevalence, halfwidth)
        out: dict[str, Any] = {
            "population": population,
            "expected_prevalence": prevalence,
            "target_halfwidth": halfwidth,
            "items_for_prevalence": items,
        }
        if recall is not None:
            positives = sample_size(population, recall, halfwidth)
            out |= {
                "expected_recall": recall,
                "positives_for_recall": positives,
                "items_for_recall": min(population, math.ceil(positives / prevalence)),
            }
    except ValueError as exc:
        raise UsageError(Problem("sample plan", str(exc))) from None
    return out
