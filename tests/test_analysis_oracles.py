"""Every figure of the root-cause analysis against an independent computation (statsmodels, sklearn, scipy,
numpy) on random data, and the edge cases with zero denominators by hand."""

from __future__ import annotations

import random

import pytest
from oracles import (
    aggregate_raters,
    calibration_curve,
    cohen_kappa_score,
    f1_score,
    np,
    precision_score,
    proportion_confint,
    recall_score,
    sm_fleiss,
    sps,
)

from modtui.analysis.agreement import agreement, cohen_kappa, fleiss_kappa, kappa_vs_gold
from modtui.analysis.calibration import bin_of, calibration, cheapest_threshold
from modtui.analysis.intervals import binomial, bootstrap_f1, multinomial, wilson
from modtui.analysis.metrics import ScoredItem, run_metrics
from modtui.analysis.slices import NONE, meta_keys, single, slice_flips, slice_metrics, several

POS, NEG, OTHER = "violating", "non_violating", "borderline"


def random_run(
    rng: random.Random, n: int, labels: tuple[str, ...] = (POS, NEG), nv: float = 0.1, confidence: bool = True
) -> list[ScoredItem]:
    out = []
    for i in range(n):
        expected = rng.choice(labels)
        label = None if rng.random() < nv else (expected if rng.random() < 0.7 else rng.choice(labels))
        out.append(
            ScoredItem(
                f"i{i:04d}",
                expected,
                label,
                "label" if label else "parse_error",
                confidence=round(rng.random(), 6) if confidence and label else None,
            )
        )
    return out


# -- Wilson ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_wilson_equals_statsmodels(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        n = rng.randint(1, 500)
        k = rng.randint(0, n)
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson(k, n) == pytest.approx((lo, hi), abs=1e-12)


def test_wilson_edges() -> None:
    assert wilson(0, 0) is None
    lo, hi = wilson(0, 10)  # type: ignore[misc]
    assert lo == 0.0 and 0 < hi < 0.35
    lo, hi = wilson(10, 10)  # type: ignore[misc]
    assert hi == 1.0 and 0.65 < lo < 1
    with pytest.raises(ValueError):
        wilson(3, 2)


@pytest.mark.parametrize("seed", range(4))
def test_run_metrics_intervals_and_scores_equal_sklearn(seed: int) -> None:
    rng = random.Random(100 + seed)
    items = random_run(rng, rng.randint(30, 300), (POS, NEG, OTHER))
    m = run_metrics(items, POS)
    y_true = [it.expected == POS for it in items]
    y_pred = [it.label == POS for it in items]  # no verdict is never predicted positive
    assert m.precision == pytest.approx(precision_score(y_true, y_pred))
    assert m.recall == pytest.approx(recall_score(y_true, y_pred))
    assert m.f1 == pytest.approx(f1_score(y_true, y_pred))
    tp = sum(t and p for t, p in zip(y_true, y_pred))
    assert m.precision_ci == pytest.approx(proportion_confint(tp, sum(y_pred), method="wilson"))
    assert m.recall_ci == pytest.approx(proportion_confint(tp, sum(y_true), method="wilson"))
    d = m.to_dict()
    assert d["precision_ci"] == list(m.precision_ci) and d["recall_ci"] == list(m.recall_ci)  # type: ignore[arg-type]
    assert d["f1_bootstrap"] == {"resamples": 1000, "seed": d["f1_bootstrap"]["seed"], "used": 1000}


def test_run_metrics_zero_denominators() -> None:
    nothing_flagged = [ScoredItem("a", NEG, NEG), ScoredItem("b", POS, None, "parse_error")]
    d = run_metrics(nothing_flagged, POS).to_dict()
    assert d["precision"] is None and d["precision_ci"] is None and d["f1_ci"] is None
    assert d["recall"] == 0.0 and d["recall_ci"][0] == 0.0
    no_positives = [ScoredItem("a", NEG, POS), ScoredItem("b", NEG, NEG)]
    d = run_metrics(no_positives, POS).to_dict()
    assert d["recall"] is None and d["recall_ci"] is None and d["f1_ci"] is None
    assert d["precision"] == 0.0 and d["precision_ci"] == pytest.approx(list(proportion_confint(0, 1, method="wilson")))
    empty = run_metrics([], POS).to_dict()
    assert empty["precision_ci"] is None and empty["recall_ci"] is None and empty["f1_ci"] is None


# -- bootstrap ---------------------------------------------------------------------------------------


def test_binomial_sampler_matches_the_binomial_distribution() -> None:
    rng = random.Random(7)
    for n, p in ((40, 0.05), (200, 0.3), (5000, 0.45), (1000, 0.9)):  # both the skip and the BTRS branch
        draws = [binomial(rng, n, p) for _ in range(4000)]
        observed = np.bincount(draws, minlength=n + 1)
        lo, hi = int(sps.binom.ppf(0.001, n, p)), int(sps.binom.ppf(0.999, n, p))
        expected = np.array([sps.binom.pmf(k, n, p) for k in range(lo, hi + 1)]) * len(draws)
        got = observed[lo : hi + 1]
        # fold the tails into the end cells, then a chi-square goodness of fit
        got = np.concatenate(([observed[: lo + 1].sum()], got[1:-1], [observed[hi:].sum()]))
        expected[0], expected[-1] = sps.binom.cdf(lo, n, p) * len(draws), sps.binom.sf(hi - 1, n, p) * len(draws)
        keep = expected >= 5
        chi2 = (((got - expected) ** 2 / expected)[keep]).sum()
        assert sps.chi2.sf(chi2, keep.sum() - 1) > 1e-4, (n, p)


def test_multinomial_sums_and_means() -> None:
    rng = random.Random(3)
    probs = (0.2, 0.1, 0.3, 0.4)
    draws = np.array([multinomial(rng, 500, probs) for _ in range(3000)])
    assert (draws.sum(axis=1) == 500).all()
    assert draws.mean(axis=0) == pytest.approx(np.array(probs) * 500, rel=0.02)


@pytest.mark.parametrize("seed", range(3))
def test_bootstrap_f1_agrees_with_a_numpy_bootstrap(seed: int) -> None:
    rng = random.Random(seed)
    items = random_run(rng, 200)
    y_true = np.array([it.expected == POS for it in items])
    y_pred = np.array([it.label == POS for it in items])
    m = run_metrics(items, POS)
    ours = m.f1_bootstrap()
    gen = np.random.default_rng(seed)
    idx = gen.integers(0, len(items), size=(20000, len(items)))
    t, p = y_true[idx], y_pred[idx]
    tp, fp, fn = (t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)
    f1s = 2 * tp / (2 * tp + fp + fn)
    lo, hi = np.percentile(f1s, [2.5, 97.5])
    assert ours.interval is not None and ours.interval == pytest.approx((lo, hi), abs=0.02)
    assert ours.interval[0] <= m.f1 <= ours.interval[1]  # type: ignore[operator]
    assert bootstrap_f1(m.tp, m.fp, m.positives - m.tp, m.items - m.positives - m.fp).interval == ours.interval
    assert m.f1_bootstrap().interval == ours.interval  # seeded: the same every time


def test_bootstrap_f1_edges() -> None:
    assert bootstrap_f1(0, 0, 5, 5).interval is None  # nothing predicted positive
    assert bootstrap_f1(0, 3, 0, 5).interval is None  # no positive item
    perfect = bootstrap_f1(10, 0, 0, 10)
    assert perfect.interval == (1.0, 1.0) and perfect.used == 1000
    assert bootstrap_f1(5, 5, 5, 5, seed=1).interval != bootstrap_f1(5, 5, 5, 5, seed=2).interval


def test_a_runs_f1_interval_is_drawn_once_however_often_it_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report asks for each run's F1 interval more than once (to_dict, the root-cause table): the seeded
    resamples are drawn once, and every answer is the same."""
    from modtui.analysis import intervals

    draws = 0
    real = intervals.multinomial

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal draws
        draws += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(intervals, "multinomial", counted)
    m = run_metrics(random_run(random.Random(99), 137), POS)
    first = m.to_dict()["f1_ci"]
    assert m.f1_bootstrap().interval is not None and list(m.f1_bootstrap().interval) == first
    assert m.to_dict()["f1_ci"] == first
    assert draws == 1000  # one bootstrap of 1,000 resamples, not one per question


# -- slices ------------------------------------------------------------------------------------------


def test_slice_metrics_equal_sklearn_per_slice_with_statsmodels_intervals() -> None:
    rng = random.Random(11)
    items = random_run(rng, 400)
    locale = {it.item_id: rng.choice(["en-US", "de-DE", "pt-BR", None]) for it in items}
    slices = slice_metrics(items, single(locale), POS, min_n=60)
    assert sum(s.metrics.items for s in slices) == len(items)
    errors = [s.errors for s in slices]
    assert errors == sorted(errors, reverse=True)
    for s in slices:
        members = [it for it in items if (locale[it.item_id] or NONE) == s.key]
        y_true = [it.expected == POS for it in members]
        y_pred = [it.label == POS for it in members]
        tp = sum(a and b for a, b in zip(y_true, y_pred))
        d = s.to_dict()
        assert d["items"] == len(members) and d["small"] == (len(members) < 60)
        assert d["tp"] == tp and d["fp"] == sum(b and not a for a, b in zip(y_true, y_pred))
        assert d["precision"] == pytest.approx(precision_score(y_true, y_pred))
        assert d["recall"] == pytest.approx(recall_score(y_true, y_pred))
        assert d["f1"] == pytest.approx(f1_score(y_true, y_pred))
        assert d["precision_ci"] == pytest.approx(list(proportion_confint(tp, sum(y_pred), method="wilson")))
        assert d["recall_ci"] == pytest.approx(list(proportion_confint(tp, sum(y_true), method="wilson")))
        assert "cited_fp_items" not in d


def test_rule_slices_put_an_item_in_every_rule_it_cites() -> None:
    items = [ScoredItem("a", NEG, POS), ScoredItem("b", POS, POS), ScoredItem("c", NEG, NEG), ScoredItem("d", NEG, POS)]
    rules = {"a": ["slur", "threat"], "b": ["slur"], "d": ["threat", "threat"]}
    by_key = {s.key: s for s in slice_metrics(items, several(rules), POS, cited_fp=True)}
    assert set(by_key) == {"slur", "threat", NONE}
    assert by_key["threat"].cited_fp_items == ("a", "d") and by_key["threat"].metrics.precision == 0.0
    assert by_key["slur"].metrics.precision == 0.5 and by_key["slur"].cited_fp_items == ("a",)
    assert by_key[NONE].to_dict()["precision_ci"] is None and by_key[NONE].to_dict()["cited_fp_items"] == []


def test_slice_flips_partition_the_compare() -> None:
    rng = random.Random(5)
    base, cand = random_run(rng, 300), random_run(rng, 300)
    kind = {it.item_id: rng.choice(["false_positive", "false_negative", "guard"]) for it in base}
    from modtui.analysis.flips import compare

    whole = compare(base, cand, POS)
    per = slice_flips(base, cand, single(kind), POS)
    assert sorted(i for s in per for i in s.fixed) == sorted(whole.fixed)
    assert sorted(i for s in per for i in s.regressed) == sorted(whole.regressed)
    for s in per:
        assert all(kind[i] == s.key for i in s.fixed + s.regressed)
        d = s.to_dict()
        assert d["fixed"] == len(d["fixed_items"]) and d["regressed"] == len(d["regressed_items"])


def test_meta_keys_bins_numbers_and_keeps_text() -> None:
    metas = {f"i{v}": {"age": str(v), "locale": "en"} for v in range(0, 101, 5)} | {"x": {"age": ""}, "y": {}}
    keys = meta_keys(metas, "age", bins=4)
    assert keys["i0"] == "[0, 25)" and keys["i25"] == "[25, 50)" and keys["i100"] == "[75, 100]"
    assert keys["x"] is None and keys["y"] is None
    edges = np.linspace(0, 100, 5)
    for item_id, meta in metas.items():
        if meta.get("age"):
            want = min(int(np.digitize(float(meta["age"]), edges)) - 1, 3)
            assert keys[item_id] == ["[0, 25)", "[25, 50)", "[50, 75)", "[75, 100]"][want]
    assert meta_keys(metas, "locale")["i5"] == "en"
    few = meta_keys({"a": {"n": 1}, "b": {"n": 2}, "c": {"n": True}}, "n", bins=5)
    assert few == {"a": "1", "b": "2", "c": "true"}  # a bool makes the field not numeric


# -- calibration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_calibration_equals_sklearn_and_numpy(seed: int) -> None:
    rng = random.Random(200 + seed)
    items = random_run(rng, 500, (POS, NEG, OTHER))
    cal = calibration(items, POS)
    assert cal is not None
    scores = np.array(
        [
            it.confidence if it.label == POS else 1 - it.confidence
            for it in items
            if it.label is not None and it.confidence is not None
        ]
    )
    truth = np.array([it.expected == POS for it in items if it.label is not None and it.confidence is not None])
    prob_true, prob_pred = calibration_curve(truth, scores, n_bins=10, strategy="uniform")
    full = [b for b in cal.bins if b.count]
    assert [b.positive_rate for b in full] == pytest.approx(list(prob_true))
    assert [b.mean_score for b in full] == pytest.approx(list(prob_pred))
    which = np.minimum((scores * 10).astype(int), 9)
    ece = sum(
        (which == b).sum() / len(scores) * abs(scores[which == b].mean() - truth[which == b].mean())
        for b in range(10)
        if (which == b).any()
    )
    assert cal.ece == pytest.approx(ece)
    assert [b.count for b in cal.bins] == [int((which == b).sum()) for b in range(10)]
    assert cal.scored == len(scores)


def test_calibration_bins_on_the_edges_and_without_scores() -> None:
    assert [bin_of(x) for x in (0.0, 0.1, 0.3, 0.7, 0.9, 0.95, 1.0)] == [0, 1, 3, 7, 9, 9, 9]
    items = [
        ScoredItem("a", POS, POS, confidence=1.0),
        ScoredItem("b", NEG, NEG, confidence=1.0),
        ScoredItem("c", NEG, POS, confidence=0.3),
    ]  # scores 1.0, 0.0, 0.3
    cal = calibration(items, POS)
    assert cal is not None and [b.count for b in cal.bins] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert cal.bins[1].mean_score is None and cal.bins[1].positive_rate is None
    assert cal.ece == pytest.approx((0.0 + 0.3 + 0.0) / 3)
    assert calibration([ScoredItem("a", POS, POS)], POS) is None


def test_cheapest_threshold_is_the_brute_force_minimum() -> None:
    rng = random.Random(9)
    items = random_run(rng, 150)
    items += [ScoredItem("u", POS, POS)]  # a positive without a score: missed at every threshold
    positives = sum(it.expected == POS for it in items)
    for fp_cost, fn_cost in ((1, 1), (1, 5), (10, 1), (0, 1)):
        got = cheapest_threshold(items, POS, fp_cost, fn_cost)
        scored = [
            (s, it.expected == POS)
            for it in items
            if it.label is not None and it.confidence is not None
            for s in [it.confidence if it.label == POS else 1 - it.confidence]
        ]
        options = [(fn_cost * positives, None)]
        for t in sorted({s for s, _ in scored}, reverse=True):
            tp = sum(p for s, p in scored if s >= t)
            fp = sum(not p for s, p in scored if s >= t)
            options.append((fp_cost * fp + fn_cost * (positives - tp), t))
        least = min(c for c, _ in options)
        assert got is not None and got.cost == pytest.approx(least)
        assert got.threshold == next(t for c, t in options if c == least)  # first = highest threshold
    assert cheapest_threshold([ScoredItem("a", POS, None, "parse_error")], POS) is None


# -- agreement ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_cohen_kappa_equals_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    labels = [POS, NEG, OTHER][: 2 + seed % 2]
    a = [rng.choice(labels) for _ in range(80)]
    b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_edges() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa([POS, POS], [POS, POS]) is None  # p_e = 1
    assert cohen_kappa([POS, NEG], [NEG, POS]) == pytest.approx(cohen_kappa_score([POS, NEG], [NEG, POS]))


@pytest.mark.parametrize("seed", range(4))
def test_agreement_equals_statsmodels_and_sklearn(seed: int) -> None:
    rng = random.Random(300 + seed)
    raters = ["r1", "r2", "r3"]
    annotations: dict[str, dict[str, str]] = {}
    for i in range(120):
        truth = rng.choice([POS, NEG, OTHER])
        who = raters if rng.random() < 0.7 else rng.sample(raters, rng.choice([1, 2]))
        annotations[f"i{i}"] = {r: truth if rng.random() < 0.75 else rng.choice([POS, NEG, OTHER]) for r in who}
    annotations["empty"] = {}
    result = agreement(annotations)
    assert result.annotators == ("r1", "r2", "r3") and result.items_annotated == 120
    for pair in result.pairwise:
        both = [m for m in annotations.values() if pair.a in m and pair.b in m]
        assert pair.n == len(both)
        assert pair.kappa == pytest.approx(cohen_kappa_score([m[pair.a] for m in both], [m[pair.b] for m in both]))
    full = [m for m in annotations.values() if len(m) == 3]
    assert result.fleiss_raters == 3 and result.fleiss_items == len(full)
    table, _ = aggregate_raters(np.array([[m[r] for r in raters] for m in full]))
    assert result.fleiss_kappa == pytest.approx(sm_fleiss(table, method="fleiss"))
    assert set(result.disagreements) == {i for i, m in annotations.items() if len(set(m.values())) > 1}


def test_fleiss_edges() -> None:
    assert agreement({}).fleiss_kappa is None and agreement({}).pairwise == ()
    one_each = agreement({"a": {"r1": POS}, "b": {"r2": NEG}})
    assert one_each.fleiss_kappa is None and one_each.pairwise[0].n == 0 and one_each.pairwise[0].kappa is None
    assert fleiss_kappa([{POS: 2}, {POS: 2}]) is None  # everyone said the same: p_e = 1
    with pytest.raises(ValueError):
        fleiss_kappa([{POS: 2}, {POS: 3}])


def test_kappa_vs_gold_equals_sklearn_on_items_with_a_verdict() -> None:
    rng = random.Random(4)
    items = random_run(rng, 200, (POS, NEG, OTHER))
    judged = [it for it in items if it.label is not None]
    assert kappa_vs_gold(items) == pytest.approx(
        cohen_kappa_score([i.label for i in judged], [i.expected for i in judged])
    )
    assert kappa_vs_gold([ScoredItem("a", POS, None, "error")]) is None
