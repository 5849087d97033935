"""The handoff report's root-cause sections: where the errors are (the slices with the most false positives and
false negatives, per-rule precision), calibration, and how far the annotators agree (docs/analysis.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modtui.analysis.agreement import agreement, kappa_vs_gold
from modtui.analysis.calibration import calibration
from modtui.analysis.intervals import as_list
from modtui.analysis.metrics import ScoredItem, run_metrics
from modtui.analysis.slices import NONE, Slice, slice_metrics
from modtui.domain.prompt_name import prompt_name
from modtui.services.slices import RULE, item_facts, keying, slice_keys

if TYPE_CHECKING:
    from modtui.incidents.loader import LoadedIncident
    from modtui.store.records import RunRecord
    from modtui.workspace import Workspace

TOP = 5  # slices listed by FP and by FN
RULES_SHOWN = 15  # rules listed by precision
IDS_SHOWN = 20  # cited false positives listed per rule
ITEM_LIMIT = 50


def section(
    ws: Workspace,
    loaded: LoadedIncident,
    analysed: Sequence[tuple[str, RunRecord]],
    entry: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """`analysed`: (role, run) pairs, e.g. the production run and the best candidate; `entry`: an item as the
    report lists items (content masked, redacted or clipped)."""
    from modtui.services.scoring import scored_run
    from modtui.store.runs import cited_rules

    positive = loaded.incident.positive_label
    facts = item_facts(loaded.items)
    keys = [k for k in slice_keys(facts) if k != RULE]
    keyings = {k: keying(facts, k) for k in keys}
    expected = {i.id: i.expected for i in loaded.items}
    runs = []
    for role, run in analysed:
        with ws.store().read() as session:
            scored = scored_run(session, run.id, expected)
            cited = {item: c.rules for item, c in cited_rules(session, run.id).items()}
        runs.append(_run(role, run, scored, positive, keyings, cited))
    return {"runs": runs, "agreement": _agreement(loaded, entry)}


def _run(
    role: str,
    run: RunRecord,
    scored: list[ScoredItem],
    positive: str,
    keyings: dict[str, Any],
    cited: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    m = run_metrics(scored, positive)
    cut = [
        (by, s) for by, keys_of in keyings.items() for s in slice_metrics(scored, keys_of, positive) if s.key != NONE
    ]
    rules = [s for s in slice_metrics(scored, keying([], RULE, cited=cited), positive, cited_fp=True) if s.key != NONE]
    rules.sort(key=lambda s: (s.metrics.precision is None, s.metrics.precision or 0.0, -s.metrics.items, s.key))
    cal = calibration(scored, positive)
    return {
        "run_id": run.id,
        "role": role,
        "target": run.target_name,
        "prompt": prompt_name(run.prompt_path),
        "items": m.items,
        "precision": m.precision,
        "precision_ci": as_list(m.precision_ci),
        "recall": m.recall,
        "recall_ci": as_list(m.recall_ci),
        "f1": m.f1,
        "f1_ci": as_list(m.f1_bootstrap().interval),
        "kappa_vs_gold": kappa_vs_gold(scored),
        "top_fp": [_slice(by, s) for by, s in _top(cut, "fp")],
        "top_fn": [_slice(by, s) for by, s in _top(cut, "fn")],
        "rules": [_rule(s) for s in rules[:RULES_SHOWN]],
        "calibration": cal.to_dict() if cal else None,
    }


def _top(cut: list[tuple[str, Slice]], cell: str) -> list[tuple[str, Slice]]:
    count = (lambda s: s.metrics.fp) if cell == "fp" else (lambda s: s.metrics.fn)
    hit = [(by, s) for by, s in cut if count(s)]
    return sorted(hit, key=lambda p: (-count(p[1]), -p[1].metrics.items, p[0], p[1].key))[:TOP]


def _slice(by: str, s: Slice) -> dict[str, Any]:
    m = s.metrics
    return {
        "by": by,
        "key": s.key,
        "items": m.items,
        "fp": m.fp,
        "fn": m.fn,
        "precision": m.precision,
        "precision_ci": as_list(m.precision_ci),
        "recall": m.recall,
        "recall_ci": as_list(m.recall_ci),
        "small": s.small,
    }


def _rule(s: Slice) -> dict[str, Any]:
    m = s.metrics
    return {
        "rule": s.key,
        "items": m.items,
        "tp": m.tp,
        "fp": m.fp,
        "precision": m.precision,
        "precision_ci": as_list(m.precision_ci),
        "small": s.small,
        "cited_fp_items": list(s.cited_fp_items or ())[:IDS_SHOWN],
    }


def _agreement(loaded: LoadedIncident, entry: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
    marks = {i.id: i.annotation_labels() for i in loaded.items if i.annotations}
    if not marks:
        return None
    result = agreement(marks)
    data = result.to_dict()
    data["disagreements"] = {
        "count": len(result.disagreements),
        "items": [entry(i) for i in result.disagreements[:ITEM_LIMIT]],
    }
    return data
