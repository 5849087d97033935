"""Tests for modtui.analysis: metrics, flips, significance, sweep.

Expected numbers in the hand-computed cases are literals worked out by hand
(derivations in the comments); the property tests compare against independent
brute-force implementations written differently below.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from fractions import Fraction

import pytest

from modtui.analysis.flips import compare
from modtui.analysis.metrics import ScoredItem, cell, correct, run_metrics
from modtui.analysis.significance import mcnemar_exact
from modtui.analysis.stats import percentile
from modtui.analysis.sweep import sweep

POS = "toxic"


def it(item_id: str, expected: str, label: str | None, **kw: object) -> ScoredItem:
    """Shorthand constructor for a ScoredItem."""
    return ScoredItem(item_id, expected, label, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- run metrics

HAND = [
    it("1", "toxic", "toxic", latency_ms=100.0, cost_usd=0.5, tokens_in=10, tokens_out=2),  # TP
    it("2", "toxic", "toxic", latency_ms=200.0, cost_usd=0.25, tokens_in=20, tokens_out=3),  # TP
    it("3", "toxic", "safe", latency_ms=300.0),  # FN
    it("4", "toxic", None, outcome="parse_error"),  # NV
    it("5", "safe", "toxic", latency_ms=400.0),  # FP
    it("6", "safe", "safe", cached=True),  # TN, correct
    it("7", "safe", None, outcome="error", error_type="rate_limit"),  # NV
    it("8", "harassment", "safe", latency_ms=1000.0),  # TN but NOT correct
    it("9", "safe", None, outcome="parse_error"),  # NV
]


def test_hand_computed_run_metrics() -> None:
    m = run_metrics(HAND, POS)
    # TP {1,2}=2, FP {5}=1, FN {3}=1, TN {6,8}=2, NV {4,7,9}=3
    assert (m.items, m.tp, m.fp, m.fn, m.tn, m.no_verdict) == (9, 2, 1, 1, 2, 3)
    assert m.no_verdict_by_type == {"parse_error": 2, "rate_limit": 1}
    # precision = 2/(2+1) = 2/3 ; recall = 2 / positives{1,2,3,4} = 2/4 = 0.5
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == 0.5
    # F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    assert m.f1 == pytest.approx(4 / 7)
    # correct = {1,2,6} -> 3/9 ; verdicts = 9 - 3 = 6 -> 6/9
    assert m.accuracy == pytest.approx(1 / 3)
    assert m.coverage == pytest.approx(2 / 3)
    # latencies sorted [100,200,300,400,1000]: p50 rank 4*.5=2 -> 300;
    # p95 rank 4*.95=3.8 -> 400 + .8*(1000-400) = 880
    assert m.latency_p50_ms == 300.0
    assert m.latency_p95_ms == pytest.approx(880.0)
    # cost .5 + .25 = .75 ; tokens in 10+20 = 30, out 2+3 = 5 ; cached 1
    assert (m.cost_usd, m.tokens_in, m.tokens_out, m.cached) == (0.75, 30, 5, 1)


def test_to_dict_keys_and_json() -> None:
    d = run_metrics(HAND, POS).to_dict()
    assert list(d) == [
        "items",
        "tp",
        "fp",
        "fn",
        "tn",
        "no_verdict",
        "no_verdict_by_type",
        "precision",
        "recall",
        "f1",
        "precision_ci",
        "recall_ci",
        "f1_ci",
        "f1_bootstrap",
        "positives",
        "accuracy",
        "coverage",
        "cost_usd",
        "tokens_in",
        "tokens_out",
        "cached",
        "latency_ms",
    ]
    assert d["latency_ms"] == {"p50": 300.0, "p95": pytest.approx(880.0)}
    assert json.loads(json.dumps(d))["no_verdict_by_type"] == {"parse_error": 2, "rate_limit": 1}


def test_no_verdict_breakdown_types() -> None:
    items = [
        it("a", "toxic", None, outcome="refusal"),
        it("b", "toxic", None, outcome="truncated"),
        it("c", "safe", None, outcome="error", error_type="timeout"),
        it("d", "safe", None, outcome="error", error_type="timeout"),
        it("e", "safe", None, outcome="error"),  # error without a type -> "error"
        it("f", "safe", None, outcome="parse_error"),
    ]
    m = run_metrics(items, POS)
    assert m.no_verdict == 6
    assert m.no_verdict_by_type == {
        "refusal": 1,
        "truncated": 1,
        "timeout": 2,
        "error": 1,
        "parse_error": 1,
    }


def test_no_positives() -> None:
    m = run_metrics([it("a", "safe", "safe"), it("b", "safe", "toxic")], POS)
    # TP 0, FP 1 -> precision 0/1 = 0.0; no positives -> recall None -> F1 None
    assert (m.precision, m.recall, m.f1) == (0.0, None, None)
    assert m.accuracy == 0.5


def test_all_no_verdict() -> None:
    items = [
        it("a", "toxic", None, outcome="parse_error"),
        it("b", "safe", None, outcome="refusal"),
    ]
    m = run_metrics(items, POS)
    # no predicted positives -> precision None ; 0 TP / 1 positive = 0.0 ; F1 None
    assert (m.precision, m.recall, m.f1) == (None, 0.0, None)
    assert (m.coverage, m.accuracy) == (0.0, 0.0)


def test_f1_zero_when_p_plus_r_zero() -> None:
    m = run_metrics([it("a", "toxic", "safe"), it("b", "safe", "toxic")], POS)
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)


def test_empty_run() -> None:
    d = run_metrics([], POS).to_dict()
    assert d["items"] == 0 and d["accuracy"] is None and d["coverage"] is None
    assert d["latency_ms"] == {"p50": None, "p95": None} and d["cost_usd"] == 0.0


def test_cells_and_correct() -> None:
    assert [cell(x, POS) for x in HAND] == ["TP", "TP", "FN", "NV", "FP", "TN", "NV", "TN", "NV"]
    assert [x.item_id for x in HAND if correct(x)] == ["1", "2", "6"]


# ---------------------------------------------------------------- percentiles


def simple_percentile(values: list[float], q: int) -> float:
    """Independent: exact rational rank, then interpolate."""
    xs = sorted(values)
    rank = Fraction(q, 100) * (len(xs) - 1)
    lo = rank.numerator // rank.denominator
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (rank - lo) * (Fraction(xs[hi]) - Fraction(xs[lo])))


def test_percentile_hand_and_edges() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    # [1,2,3,4]: p50 rank 1.5 -> 2.5 ; p95 rank 2.85 -> 3.85
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == pytest.approx(3.85)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_percentile_vs_independent_and_statistics() -> None:
    rng = random.Random(7)
    for _ in range(200):
        xs = [round(rng.uniform(0, 5000), 3) for _ in range(rng.randint(2, 60))]
        cuts = statistics.quantiles(xs, n=100, method="inclusive")
        for q in (50, 95):
            got = percentile(xs, q)
            assert got == pytest.approx(simple_percentile(xs, q), rel=1e-12, abs=1e-9)
            assert got == pytest.approx(cuts[q - 1], rel=1e-12, abs=1e-9)


# ---------------------------------------------------------------- significance


def test_mcnemar_hand_values() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 0) == 1.0  # n=1: 2 * P(X<=0) = 2 * 1/2 = 1
    assert mcnemar_exact(0, 6) == 0.03125  # 2 * 1/64
    assert mcnemar_exact(6, 0) == 0.03125
    assert mcnemar_exact(1, 9) == 0.021484375  # 2 * (1 + 10)/1024 = 22/1024
    assert mcnemar_exact(2, 8) == 0.109375  # 2 * (1 + 10 + 45)/1024 = 112/1024
    assert mcnemar_exact(5, 5) == 1.0


def test_mcnemar_rejects_bad_input() -> None:
    for b, c in ((-1, 2), (1.5, 2), (True, 2)):
        with pytest.raises(ValueError):
            mcnemar_exact(b, c)  # type: ignore[arg-type]


def test_mcnemar_large_n_stable() -> None:
    tiny = mcnemar_exact(0, 5000)
    assert tiny == 0.0 or 0.0 < tiny < 1e-300  # 2**-4999 underflows
    assert not math.isnan(tiny)
    assert 0.0 < mcnemar_exact(0, 1000) < 1e-300  # 2**-999: subnormal but positive
    assert mcnemar_exact(50_000, 50_000) == 1.0
    ps = [mcnemar_exact(m, 100_000 - m) for m in (48_500, 49_000, 49_500, 49_900, 49_999)]
    assert all(0.0 < p <= 1.0 for p in ps) and ps == sorted(ps)
    # the large-n path (n > 1000) matches an exact rational computation
    for b, c in ((450, 551), (0, 1001), (480, 1520)):
        assert mcnemar_exact(b, c) == pytest.approx(brute_binom_p(b, c), rel=1e-12, abs=1e-300)


def test_mcnemar_vs_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(11)
    cases = [(rng.randint(0, 40), rng.randint(0, 40)) for _ in range(150)]
    cases += [(rng.randint(0, 3000), rng.randint(0, 3000)) for _ in range(30)]
    cases += [(48_900, 51_100), (400, 601), (1, 1200)]
    for b, c in cases:
        expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


# ---------------------------------------------------------------- flips

BASE = [
    it("a", "toxic", "safe"),  # FN -> TP : fixed
    it("b", "safe", "safe"),  # TN -> FP : regressed
    it("c", "toxic", "toxic"),  # TP -> TP : both right
    it("d", "toxic", None, outcome="parse_error"),  # NV -> NV(rate_limit): both wrong, changed
    it("e", "safe", None, outcome="refusal"),  # NV -> TN : fixed
    it("f", "harassment", "safe"),  # TN -> TN(hate): both wrong, changed, no transition
    it("g", "safe", "safe"),  # only baseline
]
CAND = [
    it("h", "safe", "toxic"),  # only candidate
    it("f", "harassment", "hate"),
    it("e", "safe", "safe"),
    it("d", "toxic", None, outcome="error", error_type="rate_limit"),
    it("c", "toxic", "toxic"),
    it("b", "safe", "toxic"),
    it("a", "toxic", "toxic"),
]


def test_flips_hand_computed() -> None:
    r = compare(BASE, CAND, POS)
    assert r.paired == 6
    assert r.fixed == ("a", "e") and r.regressed == ("b",)
    assert (r.both_right, r.both_wrong) == (1, 2)
    assert r.changed_label == ("a", "b", "d", "e", "f")
    assert r.transitions == {"FN→TP": ["a"], "NV→TN": ["e"], "TN→FP": ["b"]}
    assert (r.only_baseline, r.only_candidate) == (("g",), ("h",))
    # b=2, c=1: n=3, 2 * P(X<=1) = 2 * 4/8 = 1.0
    assert r.mcnemar_p == 1.0
    d = json.loads(json.dumps(r.to_dict()))
    assert d["fixed"] == ["a", "e"] and d["transitions"]["TN→FP"] == ["b"]
    assert set(d) == {
        "paired",
        "fixed",
        "regressed",
        "both_right",
        "both_wrong",
        "changed_label",
        "transitions",
        "only_baseline",
        "only_candidate",
        "mcnemar_p",
    }


def test_identical_runs_no_flips() -> None:
    r = compare(HAND, list(reversed(HAND)), POS)
    assert r.mcnemar_p == 1.0 and r.fixed == r.regressed == r.changed_label == ()
    assert r.transitions == {} and (r.both_right, r.both_wrong) == (3, 6)


def test_one_flip() -> None:
    r = compare([it("x", "toxic", "safe")], [it("x", "toxic", "toxic")], POS)
    assert r.fixed == ("x",) and r.mcnemar_p == 1.0  # n=1 -> p = 1


def test_six_fixes_significant() -> None:
    base = [it(str(i), "toxic", "safe") for i in range(6)]
    cand = [it(str(i), "toxic", "toxic") for i in range(6)]
    r = compare(base, cand, POS)
    assert r.mcnemar_p == 0.03125 and r.transitions == {"FN→TP": [str(i) for i in range(6)]}


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(ValueError):
        compare([it("x", "safe", "safe"), it("x", "safe", "safe")], [], POS)


# ---------------------------------------------------------------- sweep

SWEEP_ITEMS = [
    it("1", "toxic", "toxic", confidence=0.9),  # score .9
    it("2", "safe", "toxic", confidence=0.8),  # score .8
    it("3", "toxic", "safe", confidence=0.375),  # score 1 - .375 = .625
    it("4", "toxic", "toxic", confidence=0.625),  # score .625 (tie)
    it("5", "safe", "safe", confidence=0.75),  # score .25
    it("6", "toxic", None, outcome="parse_error"),  # no score, still a positive
    it("7", "safe", "safe"),  # no confidence
]


def test_sweep_hand_computed() -> None:
    s = sweep(SWEEP_ITEMS, POS)
    assert s is not None and (s.items, s.positives, s.scored) == (7, 4, 5)
    got = [(p.threshold, p.predicted_positive, p.precision, p.recall) for p in s.points]
    # positives = {1,3,4,6} = 4
    # t=.9: pp 1, tp 1 ; t=.8: pp 2, tp 1 ; t=.625: pp 4, tp 3 ; t=.25: pp 5, tp 3
    assert got == [(0.9, 1, 1.0, 0.25), (0.8, 2, 0.5, 0.25), (0.625, 4, 0.75, 0.75), (0.25, 5, 0.6, 0.75)]
    # F1: 2*.25/1.25 = .4 ; 2*.125/.75 = 1/3 ; .75 ; 2*.45/1.35 = 2/3
    assert [p.f1 for p in s.points] == pytest.approx([0.4, 1 / 3, 0.75, 2 / 3])
    assert s.best is not None and s.best.threshold == 0.625
    assert json.loads(json.dumps(s.to_dict()))["best"]["predicted_positive"] == 4


def test_sweep_tie_prefers_higher_threshold() -> None:
    items = [
        it("1", "toxic", "toxic", confidence=0.9),
        it("2", "safe", "toxic", confidence=0.8),
        it("3", "safe", "toxic", confidence=0.7),
        it("4", "toxic", "toxic", confidence=0.6),
    ]
    s = sweep(items, POS)
    # t=.9: P 1, R .5 -> 2/3 ; t=.6: P .5, R 1 -> 2/3 (tie) ; .8 -> .5 ; .7 -> .4
    assert s is not None and s.best is not None and s.best.threshold == 0.9


def test_sweep_none_and_no_positives() -> None:
    assert sweep([it("1", "toxic", "toxic")], POS) is None
    assert sweep([it("1", "toxic", None, outcome="refusal", confidence=0.5)], POS) is None
    s = sweep([it("1", "safe", "toxic", confidence=0.7)], POS)
    assert s is not None and s.best is None and s.points[0].recall is None


# ---------------------------------------------------------------- property tests

LABELS = ["toxic", "safe", "spam"]
NV_KINDS = [
    ("parse_error", None),
    ("refusal", None),
    ("truncated", None),
    ("error", "rate_limit"),
    ("error", "server"),
    ("error", "timeout"),
]


def random_items(rng: random.Random, gold: dict[str, str], keep: float) -> list[ScoredItem]:
    out = []
    for item_id, expected in gold.items():
        if rng.random() >= keep:
            continue
        conf = rng.choice([None, rng.randint(0, 8) / 8])
        if rng.random() < 0.2:
            outcome, err = rng.choice(NV_KINDS)
            x = it(item_id, expected, None, outcome=outcome, error_type=err, confidence=conf)
            out.append(x)
        else:
            out.append(it(item_id, expected, rng.choice(LABELS), confidence=conf))
    return out


def brute_metrics(items: list[ScoredItem], pos: str) -> tuple[object, ...]:
    """Independent: Fractions and explicit set arithmetic over indices."""
    idx = range(len(items))
    said_pos = {i for i in idx if items[i].label == pos}
    is_pos = {i for i in idx if items[i].expected == pos}
    tp = len(said_pos & is_pos)
    prec = Fraction(tp, len(said_pos)) if said_pos else None
    rec = Fraction(tp, len(is_pos)) if is_pos else None
    if prec is None or rec is None:
        f1 = None
    else:
        f1 = Fraction(0) if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    verdicts = {i for i in idx if items[i].label is not None}
    fn = len((is_pos & verdicts) - said_pos)
    tn = len(verdicts - is_pos - said_pos)
    return tp, len(said_pos - is_pos), fn, tn, len(items) - len(verdicts), prec, rec, f1


def brute_flips(base: list[ScoredItem], cand: list[ScoredItem]) -> tuple[object, ...]:
    """Independent: quadratic pairing, truth tables by string."""
    fixed, regressed, right, wrong = [], [], 0, 0
    for b in base:
        for c in cand:
            if c.item_id != b.item_id:
                continue
            key = ("R" if b.label == b.expected else "W") + ("R" if c.label == c.expected else "W")
            if key == "WR":
                fixed.append(b.item_id)
            elif key == "RW":
                regressed.append(b.item_id)
            elif key == "RR":
                right += 1
            else:
                wrong += 1
    return sorted(fixed), sorted(regressed), right, wrong


def brute_cell(x: ScoredItem, pos: str) -> str:
    table = {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}
    return "NV" if x.label is None else table[(x.expected == pos, x.label == pos)]


def brute_transitions(
    base: list[ScoredItem], cand: list[ScoredItem], pos: str
) -> tuple[dict[str, list[str]], list[str]]:
    """Independent: transitions and changed answers via a dict join."""
    by_id = {c.item_id: c for c in cand}
    moves: dict[str, list[str]] = {}
    changed = []
    for b in sorted(base, key=lambda x: x.item_id):
        c = by_id.get(b.item_id)
        if c is None:
            continue
        if (b.label, b.outcome, b.error_type) != (c.label, c.outcome, c.error_type):
            changed.append(b.item_id)
        frm, to = brute_cell(b, pos), brute_cell(c, pos)
        if frm != to:
            moves.setdefault(frm + "→" + to, []).append(b.item_id)
    return moves, changed


def brute_binom_p(b: int, c: int) -> float:
    n = b + c
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return 1.0 if n == 0 else float(min(Fraction(1), Fraction(tail, 2 ** (n - 1))))


def brute_sweep_best(items: list[ScoredItem], pos: str) -> tuple[float, Fraction] | None:
    """Independent: every threshold recomputed from scratch with Fractions."""
    scores = {}
    for x in items:
        if x.label is not None and x.confidence is not None:
            conf = Fraction(x.confidence)
            scores[x.item_id] = conf if x.label == pos else 1 - conf
    n_pos = sum(x.expected == pos for x in items)
    if not scores or not n_pos:
        return None
    best: tuple[Fraction, Fraction] | None = None
    for t in set(scores.values()):
        chosen = [x for x in items if x.item_id in scores and scores[x.item_id] >= t]
        tp = sum(x.expected == pos for x in chosen)
        p, r = Fraction(tp, len(chosen)), Fraction(tp, n_pos)
        f1 = Fraction(0) if p + r == 0 else 2 * p * r / (p + r)
        if best is None or (f1, t) > best:
            best = (f1, t)
    assert best is not None
    return float(best[1]), best[0]


def approx_or_none(got: float | None, want: Fraction | None) -> bool:
    return got is None if want is None else got == pytest.approx(float(want), rel=1e-12)


def test_property_metrics_flips_sweep() -> None:
    rng = random.Random(20240601)
    for case in range(200):
        gold = {f"i{k}": rng.choice(LABELS) for k in range(rng.randint(0, 40))}
        base, cand = random_items(rng, gold, 0.9), random_items(rng, gold, 0.9)
        pos = rng.choice(LABELS)
        m = run_metrics(base, pos)
        tp, fp, fn, tn, nv, prec, rec, f1 = brute_metrics(base, pos)
        assert (m.tp, m.fp, m.fn, m.tn, m.no_verdict) == (tp, fp, fn, tn, nv), case
        assert m.tp + m.fp + m.fn + m.tn + m.no_verdict == m.items == len(base)
        assert sum(m.no_verdict_by_type.values()) == m.no_verdict
        for got, want in ((m.precision, prec), (m.recall, rec), (m.f1, f1)):
            assert approx_or_none(got, want), case  # type: ignore[arg-type]

        r = compare(base, cand, pos)
        fixed, regressed, right, wrong = brute_flips(base, cand)
        assert (list(r.fixed), list(r.regressed), r.both_right, r.both_wrong) == (fixed, regressed, right, wrong), case
        assert r.mcnemar_p == brute_binom_p(len(fixed), len(regressed))
        assert (r.transitions, list(r.changed_label)) == brute_transitions(base, cand, pos), case
        base_ids, cand_ids = {x.item_id for x in base}, {x.item_id for x in cand}
        assert set(r.only_baseline) == base_ids - cand_ids
        assert set(r.only_candidate) == cand_ids - base_ids

        s, want_best = sweep(base, pos), brute_sweep_best(base, pos)
        if want_best is None:
            assert s is None or s.best is None
        else:
            assert s is not None and s.best is not None
            assert s.best.threshold == want_best[0], case
            assert s.best.f1 == pytest.approx(float(want_best[1]), rel=1e-12)
