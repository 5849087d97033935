"""Model selection, cascades and production estimates: hand-computed cases and a coverage simulation."""

from __future__ import annotations

import random

import pytest

from modtui.analysis.cascade import Stage, simulate, thresholds_seen
from modtui.analysis.estimate import SampledItem, estimate, sample_size, t_quantile_975
from modtui.analysis.frontier import Candidate, dominates, pareto_flags
from modtui.analysis.metrics import ScoredItem, run_metrics


def test_pareto_marks_runs_no_other_run_beats_on_every_axis() -> None:
    runs = [
        Candidate(0.80, 1.00, 900.0),  # best F1
        Candidate(0.70, 0.00, 0.2),  # free and fast
        Candidate(0.70, 0.50, 500.0),  # dominated by the free one
        Candidate(0.80, 1.00, 900.0),  # a tie with the first: both stay
        Candidate(None, 0.00, 0.1),
    ]  # no F1: worst on quality, yet nothing is cheaper and faster
    assert pareto_flags(runs) == [True, True, False, True, True]
    assert dominates(runs[1], runs[2]) and not dominates(runs[0], runs[3])


def _item(
    item_id: str,
    expected: str,
    label: str | None,
    conf: float | None,
    cost: float,
    latency: float,
    outcome: str = "label",
) -> ScoredItem:
    return ScoredItem(item_id, expected, label, outcome, None, conf, latency, cost, 10, 2)


def test_cascade_escalates_low_confidence_and_no_verdict_and_sums_cost_and_latency() -> None:
    small = {
        "a": _item("a", "bad", "bad", 0.95, 0.0, 1.0),  # sure: decided by the small stage
        "b": _item("b", "ok", "bad", 0.55, 0.0, 1.0),  # unsure: escalated
        "c": _item("c", "bad", None, None, 0.0, 1.0, "parse_error"),  # no verdict: escalated
        "d": _item("d", "ok", "ok", 0.90, 0.0, 1.0),
    }
    large = {
        "a": _item("a", "bad", "ok", 0.99, 0.01, 100.0),
        "b": _item("b", "ok", "ok", 0.80, 0.01, 100.0),
        "c": _item("c", "bad", "bad", 0.70, 0.01, 100.0),
        "d": _item("d", "ok", "bad", 0.99, 0.01, 100.0),
        "e": _item("e", "ok", "ok", 0.99, 0.01, 100.0),
    }  # not in the small stage's run: left out
    out = simulate([Stage("small", small, 0.8), Stage("large", large)])
    decided = {d.item_id: d for d in out.decided}
    assert {k: v.label for k, v in decided.items()} == {"a": "bad", "b": "ok", "c": "bad", "d": "ok"}
    assert decided["a"].cost_usd == 0.0 and decided["b"].cost_usd == pytest.approx(0.01)
    assert decided["b"].latency_ms == pytest.approx(101.0) and decided["a"].latency_ms == pytest.approx(1.0)
    assert out.reached == [4, 2] and out.escalated == [2, 0] and out.items_missing == 1
    m = run_metrics(out.decided, "bad")
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 0, 0, 2)  # each stage alone would have made one mistake
    assert (run_metrics(list(large.values())[:4], "bad").tp, run_metrics(list(small.values()), "bad").fp) == (1, 1)


def test_threshold_zero_only_escalates_no_verdicts_and_the_top_threshold_escalates_all() -> None:
    small = {str(i): _item(str(i), "ok", "ok", c, 0.0, 1.0) for i, c in enumerate([0.2, 0.5, 0.5, 0.9])}
    large = {k: _item(k, "ok", "bad", 0.9, 1.0, 1.0) for k in small}
    ts = thresholds_seen(small)
    assert ts[0] == 0.0 and ts[1:-1] == [0.2, 0.5, 0.9] and ts[-1] > 0.9
    assert simulate([Stage("s", small, ts[0]), Stage("l", large)]).escalated[0] == 0
    assert simulate([Stage("s", small, 0.5), Stage("l", large)]).escalated[0] == 1
    assert simulate([Stage("s", small, ts[-1]), Stage("l", large)]).escalated[0] == 4


def test_estimates_of_a_census_are_the_population_values() -> None:
    items = [SampledItem("all", 1.0, actual=i < 30, predicted=i < 20 or i >= 90) for i in range(100)]
    est = estimate(items, {"all": 100})
    assert est.prevalence.value == pytest.approx(0.30)
    assert est.precision.value == pytest.approx(20 / 30) and est.recall.value == pytest.approx(20 / 30)
    assert est.fp_rate.value == pytest.approx(0.10) and est.fn_rate.value == pytest.approx(0.10)


def test_stratified_estimate_weights_each_stratum_by_its_population() -> None:
    # 10 % positive in a stratum of 9,000 posts, 50 % in one of 1,000: prevalence 0.14, not the sample's 0.3
    items = [SampledItem("big", 1.0, actual=i < 10, predicted=i < 10) for i in range(100)] + [
        SampledItem("small", 1.0, actual=i < 50, predicted=i < 50) for i in range(100)
    ]
    assert estimate(items, {"big": 9000, "small": 1000}).prevalence.value == pytest.approx(0.14)
    with pytest.raises(ValueError, match="'small'"):
        estimate(items, {"big": 9000})


@pytest.mark.parametrize("weighted", [False, True])
def test_intervals_cover_the_true_value_at_their_nominal_rate(weighted: bool) -> None:
    """1,000 seeded stratified samples of a known population: each 95 % interval covers the truth ≥ 93 %."""
    rng = random.Random(7)
    population = {"en": 60_000, "es": 30_000, "tl": 10_000}
    prevalence = {"en": 0.05, "es": 0.12, "tl": 0.30}
    tpr, fpr = 0.8, 0.03
    total = sum(population.values())
    truth_prev = sum(population[h] * prevalence[h] for h in population) / total
    pos = {h: population[h] * prevalence[h] for h in population}
    truth_recall = tpr
    predicted_pos = sum(pos[h] * tpr + (population[h] - pos[h]) * fpr for h in population)
    truth_precision = sum(pos[h] * tpr for h in population) / predicted_pos
    sizes = {"en": 150, "es": 100, "tl": 80}
    covered = {"precision": 0, "recall": 0, "prevalence": 0}
    runs = 1000
    for _ in range(runs):
        items = []
        for h, n in sizes.items():
            for _ in range(n):
                actual = rng.random() < prevalence[h]
                predicted = rng.random() < (tpr if actual else fpr)
                # weights unrelated to the labels (as design weights of a stratum sampled in waves) leave the
                # estimator unbiased and widen its interval
                items.append(SampledItem(h, rng.uniform(0.5, 2.0) if weighted else 1.0, actual, predicted))
        est = estimate(items, population)
        for name, truth in (("precision", truth_precision), ("recall", truth_recall), ("prevalence", truth_prev)):
            ci = getattr(est, name).interval
            covered[name] += ci is not None and ci[0] <= truth <= ci[1]
    for name, hits in covered.items():
        assert hits / runs >= 0.93, (name, hits)


def test_t_quantile_matches_scipy() -> None:
    from scipy.stats import t

    for df in (3, 5, 10, 30, 100, 1000, 50_000):
        assert t_quantile_975(df) == pytest.approx(t.ppf(0.975, df), rel=1e-2 if df < 5 else 2e-3)


def test_sample_size_matches_the_normal_approximation() -> None:
    assert sample_size(10**9, 0.5, 0.05) == 385  # the textbook ±5 % at 95 %
    assert sample_size(1000, 0.5, 0.05) == 278  # with the finite-population correction
    assert sample_size(50, 0.1, 0.01) == 50  # never more than the population
    with pytest.raises(ValueError):
        sample_size(1000, 0.0, 0.05)
