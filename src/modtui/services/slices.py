"""Slices of stored runs: `runs show RUN --by KEY` and `runs compare A B --by KEY` (analysis.slices over the log).

KEY is `rule` (the policy rules the run's verdict on the item cited: an item is in the slice of each rule it
cites, `(none)` when it cites none), `kind` (the item's kind in the incident), `cluster` (its near-duplicate cluster, as `modtui cluster`
at the default threshold; items in no cluster are `(none)`), or `meta.FIELD` (a field of the item's meta,
numbers bucketed into `bins` equal-width bins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modtui.analysis.cluster import Entry, cluster
from modtui.analysis.slices import (
    DEFAULT_BINS,
    MIN_N,
    NONE,
    Keying,
    as_number,
    meta_keys,
    several,
    single,
    slice_flips,
    slice_metrics,
)
from modtui.domain.incident import feature_text
from modtui.errors import Problem, UsageError

if TYPE_CHECKING:
    from modtui.domain.incident import Item
    from modtui.store.incidents import ItemFacts
    from modtui.store.runs import RuleCitation
    from modtui.workspace import Workspace

RULE = "rule"
FIXED_KEYS = (RULE, "kind", "cluster")
META_PREFIX = "meta."


def check_by(by: str) -> None:
    """A usage error naming the accepted keys unless `by` is one of them."""
    if by in FIXED_KEYS or (by.startswith(META_PREFIX) and len(by) > len(META_PREFIX)):
        return
    raise UsageError(
        Problem(
            "--by", f"'{by}' is not a slice key; use one of {', '.join(FIXED_KEYS)} or meta.FIELD (e.g. meta.locale)"
        )
    )


def check_options(bins: int, min_n: int) -> None:
    if bins < 1:
        raise UsageError(Problem("--bins", f"must be at least 1, not {bins}"))
    if min_n < 0:
        raise UsageError(Problem("--min-n", f"must be 0 or more, not {min_n}"))


def keying(
    facts: Sequence[ItemFacts], by: str, bins: int = DEFAULT_BINS, cited: Mapping[str, Sequence[str]] | None = None
) -> Keying:
    """The slice keys of the incident's items under `by` (checked by check_by); `cited`: item id → the rules the
    run's verdict cited, for `rule`."""
    if by == RULE:
        return several(cited or {})
    if by == "kind":
        return single({f.item_id: f.kind for f in facts})
    if by == "cluster":
        groups = cluster([Entry(f.item_id, feature_text(f.content), f.kind) for f in facts])
        return single({item: str(c.id) for c in groups for item in c.items})
    return single(meta_keys({f.item_id: f.meta for f in facts}, by.removeprefix(META_PREFIX), bins))


def item_facts(items: Sequence[Item]) -> list[ItemFacts]:
    """The facts slices read, from items in hand (the TUI's loaded incident)."""
    from modtui.store.incidents import ItemFacts

    return [
        ItemFacts(i.id, i.kind.value if i.kind else "eval", i.content, i.meta, i.annotation_labels() or None)
        for i in items
    ]


def slice_keys(facts: Sequence[ItemFacts], most: int = 8, max_values: int = 20) -> list[str]:
    """The keys worth offering for these items: kind, cluster, then the meta fields most items have that group
    them -- numbers (binned), or texts with a few distinct values (not an id or a timestamp per item)."""
    values: dict[str, list[Any]] = {}
    for f in facts:
        for name, value in f.meta.items():
            if value is not None and value != "" and not isinstance(value, (dict, list)):
                values.setdefault(name, []).append(value)

    def groups(name: str) -> bool:
        seen = values[name]
        if all(as_number(v) is not None for v in seen):
            return True
        distinct = len(set(map(str, seen)))
        return distinct <= max_values and distinct <= max(2, len(seen) // 2)

    fields = sorted((n for n in values if groups(n)), key=lambda n: (-len(values[n]), n))[:most]
    return [*FIXED_KEYS, *(META_PREFIX + name for name in fields)]


def members(facts: Sequence[ItemFacts], keys_of: Keying, key: str) -> frozenset[str]:
    """The ids of the items in slice `key`."""
    return frozenset(f.item_id for f in facts if key in (keys_of(f.item_id) or (NONE,)))


def _citations(ws: Workspace, run_ids: Sequence[int]) -> list[dict[str, RuleCitation]]:
    from modtui.store.runs import cited_rules

    with ws.store().read() as session:
        return [cited_rules(session, run_id) for run_id in run_ids]


def _facts(ws: Workspace, incident_id: str) -> list[ItemFacts]:
    from modtui.store.incidents import item_facts

    with ws.store().read() as session:
        return item_facts(session, incident_id)


def run_slices(
    ws: Workspace, run_id: int, by: str, *, bins: int = DEFAULT_BINS, min_n: int = MIN_N, labels: str = "original"
) -> dict[str, Any]:
    """`runs show RUN --by KEY --format json`."""
    from modtui.services.runs import scored_views

    check_by(by)
    check_options(bins, min_n)
    [(view, items)] = scored_views(ws, [run_id], labels)
    citations = _citations(ws, [run_id]) if by == RULE else [{}]
    cited = {item: c.rules for item, c in citations[0].items()}
    keys = keying(_facts(ws, view.run.incident_id), by, bins, cited)
    slices = [s.to_dict() for s in slice_metrics(items, keys, view.positive, min_n, cited_fp=by == RULE)]
    if by == RULE:
        unknown = {rule for c in citations[0].values() for rule in c.unknown}
        for s in slices:
            s["unknown_rule"] = s["key"] in unknown
    return {
        "run_id": run_id,
        "by": by,
        "positive_label": view.positive,
        "labels": labels,
        "min_n": min_n,
        "slices": slices,
    }


def compare_slices(
    ws: Workspace,
    run_a: int,
    run_b: int,
    by: str,
    *,
    bins: int = DEFAULT_BINS,
    min_n: int = MIN_N,
    labels: str = "original",
) -> dict[str, Any]:
    """`runs compare A B --by KEY --format json`: per slice, items fixed and regressed from A to B."""
    from modtui.services.runs import scored_views

    check_by(by)
    check_options(bins, min_n)
    (left, base), (_, cand) = scored_views(ws, [run_a, run_b], labels)
    cited: dict[str, list[str]] = {}
    for run in _citations(ws, [run_a, run_b]) if by == RULE else []:
        for item, citation in run.items():  # a rule either run's verdict cited
            cited[item] = list(dict.fromkeys([*cited.get(item, []), *citation.rules]))
    keys = keying(_facts(ws, left.run.incident_id), by, bins, cited)
    slices = slice_flips(base, cand, keys, left.positive, min_n)
    return {
        "baseline_run_id": run_a,
        "candidate_run_id": run_b,
        "by": by,
        "positive_label": left.positive,
        "labels": labels,
        "min_n": min_n,
        "slices": [s.to_dict() for s in slices],
    }
